// Attention rollout (Abnar & Zuidema 2020) on cases small enough to do by hand, and capture:
// recording changes no output, records every layer with its module path, and masks behave as
// in the fused kernels.

import assert from "node:assert/strict";
import { test } from "node:test";
import { F, MultiHeadAttention, Tensor, availableBackends, manualSeed, models, randn, tensor, withBackend } from "../src/index.js";
import { attentionRollout, fuseHeads, recordAttention } from "../src/explain/index.js";

function close(actual: ArrayLike<number>, expected: number[], tol = 1e-6, what = "") {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tol, `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

const w = (rows: number[][][]) => tensor(rows).reshape([1, rows.length, rows[0].length, rows[0][0].length]); // [1, H, T, T]

test("rollout of two one-head layers equals the product worked by hand", () => {
  // A1' = norm(A1 + I) = [[.75,.25],[.1,.9]], A2' = [[1,0],[.3,.7]]; rollout = A2' A1'
  const a1 = w([[[0.5, 0.5], [0.2, 0.8]]]);
  const a2 = w([[[1, 0], [0.6, 0.4]]]);
  const r = attentionRollout([a1, a2]);
  assert.deepEqual(r.shape, [1, 2, 2]);
  close(r.data, [0.75, 0.25, 0.295, 0.705], 1e-6, "rollout");
  // without the residual identity it is the plain product A2 A1
  close(attentionRollout([a1, a2], { addResidual: false }).data, [0.5, 0.5, 0.38, 0.62], 1e-6, "plain");
});

test("head fusion by mean, max and min, and dropping the lowest weights", () => {
  const twoHeads = w([[[1, 0], [0, 1]], [[0, 1], [1, 0]]]);
  close(fuseHeads(twoHeads, "mean").data, [0.5, 0.5, 0.5, 0.5]);
  close(fuseHeads(twoHeads, "max").data, [1, 1, 1, 1]);
  close(fuseHeads(twoHeads, "min").data, [0, 0, 0, 0]);
  close(attentionRollout([twoHeads], { headFusion: "max" }).data, [2 / 3, 1 / 3, 1 / 3, 2 / 3], 1e-6, "max");
  close(attentionRollout([twoHeads], { headFusion: "min" }).data, [1, 0, 0, 1], 1e-6, "min");
  // lowest half of [[.1,.9],[.3,.7]] is .1 (entry 0, [CLS]->[CLS], kept) and .3 (dropped)
  const a = w([[[0.1, 0.9], [0.3, 0.7]]]);
  close(attentionRollout([a], { discardRatio: 0.5 }).data, [0.55, 0.45, 0, 1], 1e-6, "discard");
  assert.throws(() => attentionRollout([a], { discardRatio: 1 }), /discardRatio must be in \[0, 1\), got 1/);
  assert.throws(() => attentionRollout([]), /no attention layers/);
  assert.throws(() => attentionRollout([a, twoHeads.reshape([1, 2, 2, 2]), w([[[1, 0, 0], [0, 1, 0], [0, 0, 1]]])]),
    /layer 2 weights \[1, 1, 3, 3\] do not match \[1, H, 2, 2\]/);
});

test("rollout rows stay distributions", () => {
  manualSeed(3);
  const layers = [0, 1, 2].map(() => randn([2, 3, 5, 5]).softmax(-1));
  for (const fusion of ["mean", "max", "min"] as const) {
    const r = attentionRollout(layers, { headFusion: fusion, discardRatio: 0.3 });
    for (let i = 0; i < 2 * 5; i++) {
      let s = 0;
      for (let j = 0; j < 5; j++) s += r.data[i * 5 + j];
      assert.ok(Math.abs(s - 1) < 1e-5, `${fusion} row ${i} sums to ${s}`);
    }
  }
});

for (const backend of availableBackends()) {
  test(`recording leaves the ViT's output unchanged and names every layer (${backend})`, () => withBackend(backend, () => {
    manualSeed(1);
    const vit = new models.ViTForImageClassification(models.vitPresets["vit-mnist"]);
    vit.eval();
    const x = randn([2, 1, 28, 28]);
    const plain = vit.forward(x).logits;
    const { output, attentions } = recordAttention(vit, () => vit.forward(x));
    close(output.logits.data, Array.from(plain.data), 1e-4, "logits");
    assert.equal(attentions.length, 4);
    attentions.forEach((a, l) => {
      assert.equal(a.module, `vit.encoder.layer.${l}.attention.attention`);
      assert.deepEqual(a.weights.shape, [2, 4, 50, 50]);
      for (let r = 0; r < 2 * 4 * 50; r++) {
        let s = 0;
        for (let j = 0; j < 50; j++) s += a.weights.data[r * 50 + j];
        assert.ok(Math.abs(s - 1) < 1e-5);
      }
    });
    // the forward wrappers are gone again and nothing records outside the call
    assert.ok(!Object.prototype.hasOwnProperty.call(vit.vit.encoder, "forward"));
    assert.equal(recordAttention(null, () => 0).attentions.length, 0);
  }));

  test(`masked and causal attention records weights equal to softmax by hand (${backend})`, () => withBackend(backend, () => {
    manualSeed(2);
    const mha = new MultiHeadAttention(8, 2);
    const x = randn([1, 3, 8]);
    // key padding: the last key is masked for every query
    const mask = tensor([[1, 1, 0]], { dtype: "int32" }).reshape([1, 1, 1, 3]);
    const plain = mha.forward(x, x, x, { mask, causal: true });
    const { output, attentions } = recordAttention(mha, () => mha.forward(x, x, x, { mask, causal: true }));
    close(output.data, Array.from(plain.data), 1e-5, "output");
    const a = attentions[0].weights;
    assert.equal(attentions[0].module, "");
    // by hand: q, k per head, causal + padding mask, softmax
    const q = mha.query.forward(x).data, k = mha.key.forward(x).data;
    for (let h = 0; h < 2; h++) for (let i = 0; i < 3; i++) {
      const s: number[] = [];
      for (let j = 0; j < 3; j++) {
        let d = 0;
        for (let p = 0; p < 4; p++) d += q[i * 8 + h * 4 + p] * k[j * 8 + h * 4 + p];
        s.push(j <= i && j < 2 ? d / 2 : -Infinity);
      }
      const m = Math.max(...s), e = s.map((v) => Math.exp(v - m)), z = e.reduce((u, v) => u + v, 0);
      close(a.data.subarray((h * 3 + i) * 3, (h * 3 + i) * 3 + 3), e.map((v) => v / z), 1e-5, `h${h} i${i}`);
    }
    // a fully masked row gets weight 0, as in the fused kernel
    const none = tensor([[0, 0, 0]], { dtype: "int32" }).reshape([1, 1, 1, 3]);
    const r = recordAttention(null, () => mha.forward(x, x, x, { mask: none }));
    assert.ok(r.attentions[0].weights.data.every((v) => v === 0));
    close(r.output.data, Array.from(mha.forward(x, x, x, { mask: none }).data), 1e-5, "masked output");
  }));
}

test("without a recording the fused kernel runs (no weights formed)", () => {
  manualSeed(5);
  const mha = new MultiHeadAttention(4, 2);
  const x = randn([1, 3, 4]);
  const plainOp = () => {
    const y = mha.query.forward(x); // any tensor that needs grad
    return F.multiHeadAttentionFused(y, y, y, 2).gradFn!.name;
  };
  assert.equal(plainOp(), "multiHeadAttention");
  const recorded = recordAttention(null, plainOp);
  assert.equal(recorded.output, "reshape"); // the explicit path: softmax(QK^T) V, then back to [B, T, H*D]
  assert.equal(recorded.attentions.length, 1);
  assert.equal(plainOp(), "multiHeadAttention"); // and the observer is gone afterwards
});

test("records keep the graph on request", () => {
  manualSeed(4);
  const mha = new MultiHeadAttention(4, 1);
  const x = randn([1, 2, 4]);
  const { output, attentions } = recordAttention(mha, () => mha.forward(x, x, x), { keepGraph: true });
  output.sum().backward();
  assert.ok(attentions[0].weights.grad instanceof Tensor);
  const detached = recordAttention(mha, () => mha.forward(x, x, x));
  assert.equal(detached.attentions[0].weights.requiresGrad, false);
});
