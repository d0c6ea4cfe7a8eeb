// backward() gives the memory of gradients it is done with to later gradients of the same pass
// (ArrayRecycler). A gradient given back too early would be overwritten while something still
// reads it: these tests build graphs whose gradients share memory in every way the ops allow
// (an op handing one gradient to two inputs, views, sums added to in place, retained and leaf
// gradients) and require gradients identical to a pass that allocates every array anew.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  ArrayRecycler, F, type Tensor, cat, gradientArraysReused, manualSeed, models, narrow, randint, randn, setGradientRecycling,
  setUninitializedFill, withRecycler,
} from "../src/index.js";
import { emptyFloat32 } from "../src/tensor/memory.js";

describe("ArrayRecycler", () => {
  test("hands out again only what it issued, each array once, filled like emptyFloat32", () => {
    const r = new ArrayRecycler();
    const foreign = new Float32Array(2048);
    r.release(foreign); // not issued by r: ignored
    const a = withRecycler(r, () => emptyFloat32(2048));
    assert.equal(withRecycler(r, () => emptyFloat32(2048)) === a, false, "a live array is not handed out twice");
    r.release(a);
    r.release(a); // a second release of the same array is ignored
    const [b, c] = withRecycler(r, () => [emptyFloat32(2048), emptyFloat32(2048)]);
    assert.equal(b, a);
    assert.notEqual(c, a);
    assert.equal(r.reused, 1);
    r.release(b);
    setUninitializedFill(NaN);
    try {
      const d = withRecycler(r, () => emptyFloat32(2048));
      assert.equal(d, a);
      assert.ok(Number.isNaN(d[0]) && Number.isNaN(d[2047]), "a reused array is filled like a new one");
    } finally {
      setUninitializedFill(null);
    }
    // short arrays come zeroed from emptyFloat32 and are never recycled
    const s = withRecycler(r, () => emptyFloat32(16));
    r.release(s);
    assert.notEqual(withRecycler(r, () => emptyFloat32(16)), s);
  });

  test("withRecycler restores the outer recycler, also when fn throws", () => {
    const outer = new ArrayRecycler(), inner = new ArrayRecycler();
    withRecycler(outer, () => {
      assert.throws(() => withRecycler(inner, () => { throw new Error("boom"); }), /boom/);
      const a = emptyFloat32(4096);
      outer.release(a);
      assert.equal(emptyFloat32(4096), a, "the outer recycler issued and took back a");
    });
    const b = emptyFloat32(4096);
    outer.release(b); // issued with no recycler active: ignored
    assert.notEqual(withRecycler(outer, () => emptyFloat32(4096)), b);
  });
});

/** A seeded stream of integers for the graphs' structure. */
function picker(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
}

/**
 * A random graph over leaves [4, 300] (1,200 elements: long enough to be recycled) whose nodes
 * reuse each other freely: the same tensor on both sides of an op, reshapes and slices that
 * share or split memory, retained intermediate gradients. Returns the arrays to compare.
 */
function randomGraph(seed: number): Float32Array[] {
  manualSeed(seed);
  const pick = picker(seed);
  const leaves = [0, 1, 2].map(() => randn([4, 300], { requiresGrad: true }));
  const nodes: Tensor[] = [...leaves];
  const retained: Tensor[] = [];
  const any = (): Tensor => nodes[pick(nodes.length)];
  for (let i = 0; i < 24; i++) {
    const a = any(), b = pick(3) === 0 ? a : any();
    let t: Tensor;
    switch (pick(9)) {
      case 0: t = a.add(b); break;
      case 1: t = a.sub(b); break;
      case 2: t = a.mul(b); break;
      case 3: t = F.tanh(a); break;
      case 4: t = a.reshape([2, 600]).reshape([4, 300]); break; // views of one array
      case 5: t = cat([narrow(a, 1, 0, 100), narrow(b, 1, 100, 200)], 1); break;
      case 6: t = a.mul(0.5).add(a); break;
      case 7: t = F.sigmoid(a.add(b).add(a)); break;
      default: t = a.add(b.sum(0, true)); break; // a broadcast gradient summed back
    }
    if (pick(5) === 0) {
      t.retainGrad();
      retained.push(t);
    }
    nodes.push(t);
  }
  let out = nodes[nodes.length - 1];
  for (let i = 0; i < 4; i++) out = out.add(any());
  out.mul(randn(out.shape)).sum().backward();
  return [...leaves, ...retained].map((t) => (t.grad ? t.grad.data as Float32Array : new Float32Array(0)));
}

function withRecycling<T>(on: boolean, fn: () => T): T {
  setGradientRecycling(on);
  try {
    return fn();
  } finally {
    setGradientRecycling(true);
  }
}

describe("backward with recycled gradient arrays", () => {
  test("random graphs with shared gradient memory: gradients identical to fresh arrays (also with NaN-filled memory)", () => {
    const before = gradientArraysReused();
    for (let seed = 1; seed <= 60; seed++) {
      const fresh = withRecycling(false, () => randomGraph(seed));
      const recycled = randomGraph(seed);
      setUninitializedFill(NaN);
      let poisoned: Float32Array[];
      try {
        poisoned = randomGraph(seed);
      } finally {
        setUninitializedFill(null);
      }
      fresh.forEach((f, i) => {
        assert.deepEqual(recycled[i], f, `seed ${seed}: gradient ${i}`);
        assert.deepEqual(poisoned[i], f, `seed ${seed}: gradient ${i} with NaN-filled memory`);
      });
    }
    assert.ok(gradientArraysReused() - before > 100, `arrays were reused (${gradientArraysReused() - before})`);
  });

  test("an op handing one gradient to two inputs, one of them summed in place (the GRU baseline's pattern)", () => {
    const run = (): Float32Array[] => {
      manualSeed(3);
      const x = randn([2048], { requiresGrad: true }), y = randn([2048], { requiresGrad: true });
      const a = x.mul(1.5), s = a.add(a); // add's backward hands its gradient to both inputs
      const out = s.add(a).add(y).mul(y);
      out.sum().backward();
      return [x.grad!.data as Float32Array, y.data as Float32Array];
    };
    const fresh = withRecycling(false, run);
    const [dx, y] = run();
    assert.deepEqual(dx, fresh[0]);
    // out = (3a + y) y with a = 1.5 x: d out / dx = 4.5 y
    dx.forEach((v, i) => assert.ok(Math.abs(v - 4.5 * y[i]) <= 1e-5 * (1 + Math.abs(v)), `element ${i}: ${v} vs ${4.5 * y[i]}`));
  });

  test("a pass starts from the previous pass's spare arrays; turning recycling off drops them", () => {
    const pass = (): number => {
      manualSeed(5);
      const x = randn([8, 512], { requiresGrad: true });
      const before = gradientArraysReused();
      F.tanh(x.mul(2).add(x)).mul(x).sum().backward();
      return gradientArraysReused() - before;
    };
    withRecycling(false, () => pass()); // no spares
    const first = pass(), second = pass();
    assert.ok(second > first, `the second pass reused more arrays (${second}) than the first (${first})`);
    setGradientRecycling(false);
    setGradientRecycling(true);
    assert.equal(pass(), first, "after recycling was off, a pass starts with no spares");
  });

  test("a model's training step: the same loss and gradients with and without recycling", () => {
    const step = (): Float32Array[] => {
      manualSeed(11);
      const model = new models.ViTForImageClassification({ ...models.vitPresets["vit-mnist"], imageSize: 16, hiddenSize: 32,
        numHiddenLayers: 2, numAttentionHeads: 2, intermediateSize: 64, numLabels: 5 });
      const x = randn([3, 1, 16, 16]), y = randint(0, 5, [3]);
      const loss = F.crossEntropy(model.forward(x).logits, y);
      loss.backward();
      return [loss.data as Float32Array, ...model.parameters().map((p: Tensor) => p.grad!.data as Float32Array)];
    };
    const fresh = withRecycling(false, step);
    const before = gradientArraysReused();
    assert.deepEqual(step(), fresh);
    assert.ok(gradientArraysReused() > before, "the step reused gradient arrays");
  });
});
