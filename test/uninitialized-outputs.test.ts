// Ops allocate their outputs uninitialised (emptyFloat32, like torch.empty) when a kernel
// writes them in full. This checks that claim: with every such array pre-filled with NaN
// (setUninitializedFill), forward outputs and gradients must be exactly those of a run on
// zeroed memory, on every backend. A kernel that skipped part of its output would leave NaN.

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  F, type Tensor, availableBackends, cat, manualSeed, matmul, models, randint, randn, setUninitializedFill, tensor, withBackend,
} from "../src/index.js";

/** Forward value and the gradients of every input, as plain arrays. */
function run(build: () => { out: Tensor; inputs: Tensor[] }): Float32Array[] {
  manualSeed(7);
  const { out, inputs } = build();
  out.mul(randn(out.shape)).sum().backward(); // a random cotangent: every output element matters
  return [out.data as Float32Array, ...inputs.map((t) => (t.grad ? t.grad.data as Float32Array : new Float32Array(0)))];
}

function poisoned<T>(fn: () => T): T {
  setUninitializedFill(NaN);
  try {
    return fn();
  } finally {
    setUninitializedFill(null);
  }
}

function check(what: string, build: () => { out: Tensor; inputs: Tensor[] }): void {
  for (const backend of availableBackends().filter((b) => b !== "webgpu")) {
    withBackend(backend, () => {
      const clean = run(build);
      const dirty = poisoned(() => run(build));
      clean.forEach((c, i) => {
        const d = dirty[i];
        for (let j = 0; j < c.length; j++) {
          if (Number.isNaN(d[j]) && !Number.isNaN(c[j])) assert.fail(`${what} [${backend}]: array ${i} element ${j} left unwritten (NaN)`);
        }
        assert.deepEqual(d, c, `${what} [${backend}]: array ${i}`);
      });
    });
  }
}

const leaf = (shape: number[]): Tensor => randn(shape, { requiresGrad: true });

test("cat's and permute's gradients write every element", () => {
  check("cat along a middle dim (a [CLS] token and patches)", () => {
    const a = leaf([3, 1, 40]), b = leaf([3, 49, 40]);
    return { out: cat([a, b], 1), inputs: [a, b] };
  });
  check("permute", () => {
    const a = leaf([4, 30, 50]);
    return { out: a.permute([2, 0, 1]), inputs: [a] };
  });
});

test("linear, matmul and their gradients write every element", () => {
  check("linear with bias", () => {
    const x = leaf([3, 37, 48]), w = leaf([70, 48]), b = leaf([70]);
    return { out: F.linear(x, w, b), inputs: [x, w, b] };
  });
  check("linear [in, out] without bias", () => {
    const x = leaf([61, 33]), w = leaf([33, 300]);
    return { out: F.linear(x, w, null, { weightInOut: true }), inputs: [x, w] };
  });
  check("batched, broadcast and transposed matmul", () => {
    const a = leaf([2, 3, 17, 40]), b = leaf([3, 40, 9]), c = leaf([9, 300]);
    return { out: matmul(matmul(a, b), c), inputs: [a, b, c] };
  });
});

test("elementwise, row-wise, normalisation and dropout write every element", () => {
  check("unary and broadcast binary ops", () => {
    const x = leaf([64, 40]), y = leaf([1, 40]), z = leaf([64, 1]);
    return { out: F.gelu(x.mul(y).add(z)).tanh().sigmoid().relu().add(x.exp()), inputs: [x, y, z] };
  });
  check("softmax over a middle dim, logSoftmax", () => {
    const x = leaf([5, 300, 7]);
    return { out: F.softmax(x, 1).add(F.logSoftmax(x, -1)), inputs: [x] };
  });
  check("layer norm (1,100 rows: its saved mean and rstd are long enough to come uninitialised)", () => {
    const x = leaf([1100, 96]), g = leaf([96]), b = leaf([96]);
    return { out: F.layerNorm(x, 96, g, b), inputs: [x, g, b] };
  });
  check("unfold (im2col) with padding, stride and dilation, and ViT's patches", () => {
    const x = leaf([2, 3, 17, 19]), p = leaf([2, 3, 32, 32]);
    const cols = F.unfold(x, [3, 4], { padding: [2, 1], stride: [2, 3], dilation: [1, 2] });
    return { out: cols.sum([1, 2]).add(F.unfold(p, 16, { stride: 16 }).sum([1, 2])), inputs: [x, p] };
  });
  check("dropout", () => {
    const x = leaf([100, 50]);
    return { out: F.dropout(x, 0.3, true), inputs: [x] };
  });
  check("cross-entropy, per row (each row its own gradient scale) and mean (one scale)", () => {
    const x = leaf([70, 33]);
    const t = randint(0, 33, [70]);
    return { out: F.crossEntropy(x, t, { reduction: "none" }).add(F.crossEntropy(x, t, { labelSmoothing: 0.1 })), inputs: [x] };
  });
  check("a gradient summed over two uses", () => {
    const x = leaf([2000]);
    return { out: x.mul(x.tanh()).add(x.sigmoid()), inputs: [x] };
  });
});

test("attention writes every element: masks, fully masked rows, causal, long sequences, heads layout", () => {
  check("causal attention, head dim 16, short sequence", () => {
    const q = leaf([2, 4, 50, 16]), k = leaf([2, 4, 50, 16]), v = leaf([2, 4, 50, 16]);
    return { out: F.scaledDotProductAttention(q, k, v, { causal: true }), inputs: [q, k, v] };
  });
  check("padding mask with a fully masked query row, head dim 24", () => {
    const q = leaf([2, 3, 9, 24]), k = leaf([2, 3, 11, 24]), v = leaf([2, 3, 11, 40]);
    const keep = new Int32Array(2 * 9 * 11).fill(1);
    for (let j = 0; j < 11; j++) keep[4 * 11 + j] = 0; // batch 0, query 4 sees nothing
    for (let j = 6; j < 11; j++) for (let i = 0; i < 9; i++) keep[99 + i * 11 + j] = 0; // batch 1: 5 padding keys
    const mask = tensor(keep, [2, 1, 9, 11]);
    return { out: F.scaledDotProductAttention(q, k, v, { mask }), inputs: [q, k, v] };
  });
  check("flash path: 300 keys, head dim 64, causal", () => {
    const q = leaf([1, 2, 300, 64]), k = leaf([1, 2, 300, 64]), v = leaf([1, 2, 300, 64]);
    return { out: F.scaledDotProductAttention(q, k, v, { causal: true }), inputs: [q, k, v] };
  });
  check("q, k, v packed in one projection [B, T, 3C]", () => {
    const qkv = leaf([2, 20, 3 * 4 * 16]);
    return { out: F.multiHeadAttentionPacked(qkv, 4, { causal: true }), inputs: [qkv] };
  });
  check("multi-head layout [B, T, H*D]", () => {
    const q = leaf([2, 33, 4 * 32]), k = leaf([2, 33, 4 * 32]), v = leaf([2, 33, 4 * 32]);
    return { out: F.multiHeadAttentionFused(q, k, v, 4, { causal: true }), inputs: [q, k, v] };
  });
});

test("whole models write every element: a GPT step and a ViT step", () => {
  check("GPT-2 loss and parameter gradients", () => {
    manualSeed(3);
    const model = new models.GPT2LMHeadModel({ vocabSize: 50, nPositions: 16, nEmbd: 32, nLayer: 2, nHead: 2,
      layerNormEpsilon: 1e-5, embdPdrop: 0, attnPdrop: 0, residPdrop: 0 });
    const ids = randint(0, 50, [2, 16]);
    return { out: model.forward(ids).logits, inputs: model.parameters() };
  });
  check("ViT logits and parameter gradients", () => {
    manualSeed(4);
    const model = new models.ViTForImageClassification({ ...models.vitPresets["vit-mnist"], numHiddenLayers: 1,
      hiddenDropoutProb: 0, attentionProbsDropoutProb: 0 });
    const x = randn([3, 1, 28, 28]);
    return { out: model.forward(x).logits, inputs: model.parameters() };
  });
});
