// tidy() gives the memory of what a step made back for the next step. Memory given back while
// something can still read it would be overwritten under that reader: these tests train models
// with and without tidy (and with the reused memory filled with NaN) and require identical
// numbers, and check that what tidy frees cannot be read, while what lives on can.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { F, type Tensor, keep, manualSeed, models, nn, optim, randint, randn, setUninitializedFill, tensor, tidy } from "../src/index.js";
import { emptyFloat32, freeArrays } from "../src/tensor/memory.js";

/** Losses of each step, then every parameter and its gradient after the last step. */
function train(kind: "gpt" | "vit", steps: number, useTidy: boolean): Float32Array[] {
  manualSeed(21);
  const model = kind === "gpt"
    ? new models.GPT2LMHeadModel(models.gptConfig("gpt-tiny", { nEmbd: 32, nLayer: 2, nHead: 2, nPositions: 32, vocabSize: 50 }))
    : new models.ViTForImageClassification({ ...models.vitPresets["vit-mnist"], imageSize: 16, hiddenSize: 32,
      numHiddenLayers: 2, numAttentionHeads: 2, intermediateSize: 64, numLabels: 5 });
  model.train(); // dropout draws from the seeded generator: the same masks both ways
  const opt = new optim.AdamW(model.parameters(), { lr: 1e-2 });
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    const x = kind === "gpt" ? randint(0, 50, [4, 32]) : randn([6, 1, 16, 16]);
    const y = kind === "gpt" ? randint(0, 50, [4 * 32]) : randint(0, 5, [6]);
    const step = (): number => {
      opt.zeroGrad();
      const logits = model.forward(x).logits;
      const loss = F.crossEntropy(logits.reshape([y.shape[0], -1]), y);
      loss.backward();
      opt.step();
      return loss.item();
    };
    losses.push(useTidy ? tidy(step) : step());
  }
  return [Float32Array.from(losses), ...model.parameters().flatMap((p: Tensor) => [p.data as Float32Array, p.grad!.data as Float32Array])];
}

describe("tidy", () => {
  for (const kind of ["gpt", "vit"] as const) {
    test(`${kind}: training steps in tidy give the same losses, weights and gradients (also with NaN-filled memory)`, () => {
      const plain = train(kind, 4, false);
      const tidied = train(kind, 4, true);
      setUninitializedFill(NaN);
      let poisoned: Float32Array[];
      try {
        poisoned = train(kind, 4, true);
      } finally {
        setUninitializedFill(null);
      }
      plain.forEach((p, i) => {
        assert.deepEqual(tidied[i], p, `array ${i}`);
        assert.deepEqual(poisoned[i], p, `array ${i} with NaN-filled memory`);
      });
    });
  }

  test("the next step reuses the memory of the last; the pool keeps about one step", () => {
    let inside: Float32Array | undefined;
    tidy(() => {
      inside = randn([64, 64]).mul(2).data as Float32Array;
    });
    assert.ok(freeArrays.holds(inside!.buffer), "the step's array was given back");
    const again = tidy(() => emptyFloat32(64 * 64));
    assert.equal(again, inside, "and handed out again");
    assert.equal(freeArrays.holds(again.buffer), false, "a returned array is not given back");
    // a length that never comes back leaves the pool after two steps
    let odd: Float32Array | undefined;
    tidy(() => {
      odd = randn([3, 1111]).add(1).data as Float32Array;
    });
    assert.ok(freeArrays.holds(odd!.buffer));
    tidy(() => randn([8]).add(1).sum().item());
    tidy(() => randn([8]).add(1).sum().item());
    assert.equal(freeArrays.holds(odd!.buffer), false, "unused for two steps: left to the collector");
  });

  test("what the scope made is freed and throws when read; results, keep(), gradients and parameters live on", () => {
    const w = randn([40, 40], { requiresGrad: true });
    let hidden!: Tensor, kept!: Tensor, view!: Tensor, madeParam!: Tensor;
    const out = tidy(() => {
      hidden = w.mul(3); // [40, 40]
      kept = keep(F.tanh(hidden));
      const big = hidden.detach().add(1); // (a result with a graph would keep everything)
      view = big.reshape([1600]); // shares big's memory: returned below, so both live
      madeParam = randn([32, 32], { requiresGrad: true });
      madeParam.mul(2).sum().backward();
      w.mul(hidden.detach()).sum().backward();
      return { view, nested: [big] };
    });
    assert.throws(() => hidden.data, /tensor \d+ of shape \[40, 40\] was freed at the end of the tidy\(\) scope/);
    assert.throws(() => hidden.sum(), /freed at the end of the tidy\(\) scope/);
    assert.ok(hidden.isFreed && String(hidden).includes("freed"));
    assert.equal(out.view, view);
    assert.equal(out.nested[0].data[0], view.data[0]);
    assert.ok(Math.abs((out.view.data[5] as number) - (3 * (w.data[5] as number) + 1)) < 1e-5);
    assert.ok(Math.abs((kept.data[7] as number) - Math.tanh(3 * (w.data[7] as number))) < 1e-5);
    assert.ok(Math.abs((w.grad!.data[9] as number) - 3 * (w.data[9] as number)) < 1e-5, "w's gradient (3w) lives on");
    assert.equal(madeParam.isFreed, false);
    assert.equal(madeParam.grad!.data[0], 2);
  });

  test("scopes nest: an inner result belongs to the outer scope", () => {
    let innerResult!: Tensor, innerTemp!: Tensor;
    const outer = tidy(() => {
      innerResult = tidy(() => {
        innerTemp = randn([2000]).mul(2);
        return innerTemp.add(1);
      });
      assert.equal(innerTemp.isFreed, true, "the inner scope's temporary is freed at its end");
      assert.equal(innerResult.isFreed, false);
      return innerResult.mul(2);
    });
    assert.equal(innerResult.isFreed, true, "the inner result was the outer scope's temporary");
    assert.equal(outer.numel, 2000);
  });

  test("a result that still has a graph frees nothing: backward after the scope gives the right gradient", () => {
    const x = randn([50, 50], { requiresGrad: true });
    let inner!: Tensor;
    const y = tidy(() => {
      inner = F.tanh(x.mul(2));
      return inner.mul(inner).sum();
    });
    assert.equal(inner.isFreed, false);
    tidy(() => randn([50, 50]).mul(5).mul(7)); // a later step: must not get y's saved arrays
    y.backward();
    for (let i = 0; i < 2500; i += 97) {
      const t = Math.tanh(2 * (x.data[i] as number));
      assert.ok(Math.abs((x.grad!.data[i] as number) - 4 * t * (1 - t * t)) < 1e-4, `element ${i}`);
    }
  });

  test("zeroGrad() in a step gives back the last step's gradients, unless a view, keep() or the caller holds them", () => {
    manualSeed(4);
    const model = new nn.Linear(64, 48); // weight: 3072 elements (long enough to be given back)
    const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
    const x = randn([16, 64]);
    const step = (): Tensor => tidy(() => {
      opt.zeroGrad();
      model.forward(x).square().mean().backward();
      opt.step();
      return model.weight.grad!;
    });
    const g0 = step(); // returned: the caller holds it
    step();
    assert.equal(g0.isFreed, false, "a gradient returned from its step is not given back");
    tidy(() => { opt.zeroGrad(); model.forward(x).square().mean().backward(); });
    const g1 = model.weight.grad!;
    step();
    assert.equal(g1.isFreed, true, "the step before's gradient went back at zeroGrad()");
    assert.throws(() => g1.data, /freed at the end of the tidy\(\) scope/);
    // a view of the gradient, made between the steps, keeps it
    tidy(() => { opt.zeroGrad(); model.forward(x).square().mean().backward(); });
    const g2 = model.weight.grad!, view = g2.reshape([-1]), g2Values = g2.toArray();
    step();
    assert.equal(g2.isFreed, false);
    assert.deepEqual(view.data, g2Values, "the view still reads the gradient's values");
    // so does keep()
    tidy(() => { opt.zeroGrad(); model.forward(x).square().mean().backward(); });
    const g3 = keep(model.weight.grad!), g3Values = g3.toArray();
    step();
    assert.deepEqual(g3.data, g3Values);
    // zeroGrad() outside tidy() gives nothing back
    const g4 = model.weight.grad!;
    opt.zeroGrad();
    assert.equal(g4.isFreed, false);
  });

  test("if fn throws, nothing is freed and the error reaches the caller", () => {
    let made!: Tensor;
    assert.throws(() => tidy(() => {
      made = randn([3000]).mul(2);
      throw new Error("step failed");
    }), /step failed/);
    assert.equal(made.isFreed, false);
    assert.equal(made.numel, 3000);
    assert.ok(Number.isFinite(made.data[0]));
    assert.equal(tensor([1, 2]).isFreed, false, "after the error no scope is active");
  });
});
