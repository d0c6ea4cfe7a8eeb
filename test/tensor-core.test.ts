// The tensor layer: creation, dtypes, the seeded generator, grad mode and the autograd tape.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as T from "../src/index.js";
import { Generator, Tensor, tensor } from "../src/index.js";

const arr = (t: Tensor): number[] => Array.from(t.data);

describe("tensor creation", () => {
  test("from nested arrays infers the shape; booleans become 0/1", () => {
    const t = tensor([[1, 2, 3], [4, 5, 6]]);
    assert.deepEqual(t.shape, [2, 3]);
    assert.equal(t.dtype, "float32");
    assert.deepEqual(arr(t), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(tensor([[[true, false]]]).shape, [1, 1, 2]);
    assert.deepEqual(arr(tensor([true, false])), [1, 0]);
    const s = tensor(3.5);
    assert.deepEqual(s.shape, []);
    assert.equal(s.item(), 3.5);
    assert.deepEqual(tensor([]).shape, [0]);
  });

  test("from typed arrays: Int32Array gives int32, shape reshapes flat data", () => {
    const i = tensor(new Int32Array([1, 2, 3, 4]), [2, 2]);
    assert.equal(i.dtype, "int32");
    assert.deepEqual(i.shape, [2, 2]);
    const f = tensor(new Float32Array([1, 2]));
    assert.equal(f.dtype, "float32");
    assert.deepEqual(f.shape, [2]);
    assert.deepEqual(arr(tensor(new Float64Array([0.5, 1.5]))), [0.5, 1.5]);
    assert.deepEqual(tensor([1, 2, 3, 4, 5, 6], [3, 2]).shape, [3, 2]);
  });

  test("dtype option converts and checks", () => {
    const t = tensor([1, 2, 3], { dtype: "int32" });
    assert.equal(t.dtype, "int32");
    assert.ok(t.data instanceof Int32Array);
    assert.ok(tensor(new Int32Array([1]), { dtype: "float32" }).data instanceof Float32Array);
    assert.throws(() => tensor([1.5], { dtype: "int32" }), /int32 data must be integers, got 1.5/);
    assert.throws(() => tensor([1], { dtype: "float64" as "float32" }), /unknown dtype "float64"/);
    assert.throws(() => tensor([[1, 2], [3]]), /ragged nested array/);
    assert.throws(() => tensor([1, 2, 3], [2, 2]), /3 values cannot have shape \[2, 2\]/);
  });

  test("the data given is not aliased by nested-array creation; typed arrays are copied too", () => {
    const src = new Float32Array([1, 2]);
    const t = tensor(src);
    src[0] = 9;
    assert.equal(t.data[0], 1);
  });

  test("zeros / ones / full / *Like", () => {
    assert.deepEqual(arr(T.zeros([2, 2])), [0, 0, 0, 0]);
    assert.deepEqual(arr(T.ones([3])), [1, 1, 1]);
    const f = T.full([2], 7, { dtype: "int32" });
    assert.equal(f.dtype, "int32");
    assert.deepEqual(arr(f), [7, 7]);
    assert.deepEqual(T.zeros([]).shape, []);
    assert.equal(T.zeros([]).numel, 1);
    const like = T.onesLike(f);
    assert.equal(like.dtype, "int32");
    assert.deepEqual(like.shape, [2]);
    assert.deepEqual(arr(T.fullLike(T.zeros([1, 2]), 0.5)), [0.5, 0.5]);
    assert.equal(T.zerosLike(T.ones([2, 3])).shape.join(), "2,3");
    assert.ok(T.ones([2], { requiresGrad: true }).requiresGrad);
    assert.throws(() => T.zeros([2, -1]), /invalid size -1/);
    assert.throws(() => T.zeros([1.5]), /invalid size 1.5/);
  });

  test("arange and linspace", () => {
    const a = T.arange(5);
    assert.equal(a.dtype, "int32");
    assert.deepEqual(arr(a), [0, 1, 2, 3, 4]);
    assert.deepEqual(arr(T.arange(2, 8, 3)), [2, 5]);
    assert.deepEqual(arr(T.arange(5, 0, -2)), [5, 3, 1]);
    const f = T.arange(0, 1, 0.25);
    assert.equal(f.dtype, "float32");
    assert.deepEqual(arr(f), [0, 0.25, 0.5, 0.75]);
    assert.equal(T.arange(0, 3, 1, { dtype: "float32" }).dtype, "float32");
    assert.deepEqual(T.arange(3, 3).shape, [0]);
    assert.throws(() => T.arange(0, 3, 0), /step must not be 0/);
    assert.deepEqual(arr(T.linspace(0, 1, 5)), [0, 0.25, 0.5, 0.75, 1]);
    assert.deepEqual(arr(T.linspace(2, 3, 1)), [2]);
  });
});

describe("randomness", () => {
  test("manualSeed makes rand / randn / randint / randperm reproducible", () => {
    const draw = (): number[][] => [arr(T.rand([5])), arr(T.randn([5])), arr(T.randint(0, 10, [5])), arr(T.randperm(6))];
    T.manualSeed(42);
    const a = draw();
    T.manualSeed(42);
    const b = draw();
    assert.deepEqual(a, b);
    T.manualSeed(43);
    assert.notDeepEqual(draw()[0], a[0]);
  });

  test("rough distribution statistics", () => {
    const g = new Generator(7);
    const n = 20000;
    const mean = (d: ArrayLike<number>): number => Array.from(d).reduce((x, y) => x + y, 0) / d.length;
    const variance = (d: ArrayLike<number>): number => { const m = mean(d); return Array.from(d).reduce((x, y) => x + (y - m) ** 2, 0) / d.length; };
    const u = T.rand([n], { generator: g }).data;
    assert.ok(u.every((v) => v >= 0 && v < 1));
    assert.ok(Math.abs(mean(u) - 0.5) < 0.01, `rand mean ${mean(u)}`);
    assert.ok(Math.abs(variance(u) - 1 / 12) < 0.005, `rand var ${variance(u)}`);
    const z = T.randn([n], { generator: g }).data;
    assert.ok(Math.abs(mean(z)) < 0.03, `randn mean ${mean(z)}`);
    assert.ok(Math.abs(variance(z) - 1) < 0.05, `randn var ${variance(z)}`);
    const within1 = Array.from(z).filter((v) => Math.abs(v) < 1).length / n;
    assert.ok(Math.abs(within1 - 0.6827) < 0.015, `randn P(|z|<1) ${within1}`);
    const r = T.randint(-3, 4, [n], { generator: g });
    assert.equal(r.dtype, "int32");
    const counts = new Map<number, number>();
    for (const v of r.data) counts.set(v, (counts.get(v) ?? 0) + 1);
    assert.deepEqual([...counts.keys()].sort((a, b) => a - b), [-3, -2, -1, 0, 1, 2, 3]);
    for (const c of counts.values()) assert.ok(Math.abs(c / n - 1 / 7) < 0.015);
    const p = T.randperm(50, { generator: g });
    assert.deepEqual(Array.from(p.data).sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));
    assert.throws(() => T.randint(3, 3, [2]), /high \(3\) must be greater than low \(3\)/);
  });

  test("a Generator's state saves and restores (including the spare normal), through JSON too", () => {
    const g = new Generator(123);
    g.normal(); // leaves a spare
    const state = g.getState();
    const json = JSON.parse(JSON.stringify(g.getState())) as number[];
    const a = [g.normal(), g.normal(), g.random(), g.randint(0, 100)];
    g.setState(state);
    assert.deepEqual([g.normal(), g.normal(), g.random(), g.randint(0, 100)], a);
    const h = new Generator(0);
    h.setState(json.map((v) => (v === null ? NaN : v)));
    h.normal(); // the spare was kept
    assert.deepEqual([h.normal(), h.random()], [a[1], a[2]]);
    assert.throws(() => g.setState([1, 2, 3]), /expected 5 numbers, got 3/);
  });

  test("separate generators are independent of the default one", () => {
    T.manualSeed(1);
    const x = arr(T.rand([3]));
    T.manualSeed(1);
    T.rand([2], { generator: new Generator(99) });
    assert.deepEqual(arr(T.rand([3])), x);
  });
});

describe("autograd tape", () => {
  test("noGrad records nothing; enableGrad re-enables inside it", () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const y = T.noGrad(() => x.mul(3));
    assert.equal(y.requiresGrad, false);
    assert.equal(y.gradFn, null);
    assert.equal(T.isGradEnabled(), true);
    T.noGrad(() => {
      assert.equal(T.isGradEnabled(), false);
      const z = T.enableGrad(() => x.mul(2));
      assert.ok(z.requiresGrad);
    });
    assert.throws(() => T.noGrad(() => { throw new Error("boom"); }), /boom/);
    assert.equal(T.isGradEnabled(), true, "grad mode restored after a throw");
  });

  test("detach shares values and cuts the graph", () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const y = x.mul(2);
    const d = y.detach();
    assert.equal(d.requiresGrad, false);
    assert.equal(d.gradFn, null);
    assert.deepEqual(arr(d), [2, 4]);
    const z = d.mul(x).sum();
    z.backward();
    assert.deepEqual(arr(x.grad!), [2, 4], "no gradient through the detached branch");
  });

  test("gradients accumulate over two backward calls; zeroGrad clears", () => {
    const x = tensor([1, 2, 3], { requiresGrad: true });
    x.mul(x).sum().backward();
    assert.deepEqual(arr(x.grad!), [2, 4, 6]);
    x.mul(x).sum().backward();
    assert.deepEqual(arr(x.grad!), [4, 8, 12]);
    x.zeroGrad();
    assert.equal(x.grad, null);
    const l = x.mul(3).sum();
    l.backward(undefined, { retainGraph: true });
    l.backward();
    assert.deepEqual(arr(x.grad!), [6, 6, 6], "retainGraph allows a second pass");
  });

  test("a second backward through a freed graph throws instead of silently stopping", () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const y = x.mul(x);
    const l = y.sum();
    l.backward();
    assert.throws(() => l.backward(), /backward through the graph a second time/);
    assert.throws(() => y.mul(2).sum().backward(), /second time \(at mul\)/);
    assert.deepEqual(arr(x.grad!), [2, 4], "the failed passes left the leaf's grad alone");
  });

  test("a tensor used twice gets the sum of both paths (diamond)", () => {
    const x = tensor([2], { requiresGrad: true });
    const a = x.mul(3), b = x.exp();
    a.mul(b).sum().backward(); // d(3x e^x) = 3 e^x + 3x e^x
    assert.ok(Math.abs(x.grad!.item() - (3 * Math.exp(2) + 6 * Math.exp(2))) < 1e-4);
  });

  test("retainGrad keeps .grad on a non-leaf; non-leaves have none otherwise", () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const y = x.mul(2).retainGrad();
    const z = x.mul(5);
    y.mul(z).sum().backward();
    assert.deepEqual(arr(y.grad!), [5, 10]);
    assert.equal(z.grad, null);
    assert.deepEqual(arr(x.grad!), [20, 40]);
    assert.equal(y.isLeaf, false);
    assert.equal(x.isLeaf, true);
  });

  test("backward with an explicit gradient; errors for non-scalars, wrong shapes, no grad", () => {
    const x = tensor([1, 2], { requiresGrad: true });
    x.mul(x).backward(tensor([1, 0.5]));
    assert.deepEqual(arr(x.grad!), [2, 2]);
    assert.throws(() => x.mul(2).backward(), /grad can be implicitly created only for scalar outputs; this tensor has shape \[2\]/);
    assert.throws(() => x.mul(2).backward(tensor([1, 2, 3])), /gradient shape \[3\] does not match tensor shape \[2\]/);
    assert.throws(() => tensor([1]).backward(), /does not require grad/);
    // a [1]-shaped output counts as a scalar
    tensor([3], { requiresGrad: true }).mul(2).backward();
  });

  test("inputs that do not require grad get none; int tensors cannot require grad", () => {
    const x = tensor([1, 2], { requiresGrad: true }), c = tensor([3, 4]);
    x.mul(c).sum().backward();
    assert.equal(c.grad, null);
    assert.throws(() => { tensor(new Int32Array([1])).requiresGrad = true; }, /only float32 tensors can require gradients/);
    assert.throws(() => { x.mul(2).requiresGrad = false; }, /non-leaf/);
    assert.equal(T.add(tensor(new Int32Array([1])), tensor(new Int32Array([2]))).requiresGrad, false);
  });

  test("leaf .grad is a private copy (editing it in place does not leak into other grads)", () => {
    const a = tensor([1, 2], { requiresGrad: true }), b = tensor([3, 4], { requiresGrad: true });
    a.add(b).sum().backward(); // add hands the same gradient to both inputs
    (a.grad!.data as Float32Array)[0] = 100;
    assert.deepEqual(arr(b.grad!), [1, 1]);
  });

  test("clone is recorded on the tape and copies", () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const c = x.clone();
    assert.notEqual(c.data, x.data);
    c.mul(tensor([2, 3])).sum().backward();
    assert.deepEqual(arr(x.grad!), [2, 3]);
  });
});

describe("tensor accessors", () => {
  test("toArray returns a copy; tolist nests; item; size; numel; strides; toString", () => {
    const t = tensor([[1, 2, 3], [4, 5, 6]]);
    const a = t.toArray();
    a[0] = 99;
    assert.equal(t.data[0], 1);
    assert.deepEqual(t.tolist(), [[1, 2, 3], [4, 5, 6]]);
    assert.equal(tensor(5).tolist(), 5);
    assert.deepEqual(tensor(new Int32Array([7]), [1, 1]).tolist(), [[7]]);
    assert.equal(tensor([[4]]).item(), 4);
    assert.throws(() => t.item(), /only one-element tensors have an item, this one has shape \[2, 3\]/);
    assert.deepEqual(t.size(), [2, 3]);
    assert.equal(t.size(-1), 3);
    assert.throws(() => t.size(2), /dim 2 out of range for rank 2/);
    assert.equal(t.numel, 6);
    assert.equal(t.ndim, 2);
    assert.deepEqual(t.strides, [3, 1]);
    assert.match(tensor([1, 2], { requiresGrad: true }).mul(2).toString(), /tensor\(shape=\[2\], dtype=float32, \[2,4\], grad_fn=mul\)/);
    assert.throws(() => new Tensor(new Float32Array(3), [2, 2]), /data has 3 elements but shape \[2, 2\] needs 4/);
  });

  test("float() / int() casts", () => {
    const f = tensor([1.7, -1.7, 2]);
    assert.deepEqual(arr(f.int()), [1, -1, 2]);
    assert.equal(f.int().dtype, "int32");
    assert.equal(f.int().float().dtype, "float32");
    assert.equal(f.float(), f);
  });
});

test("dropoutMask keeps about keepProb of the entries, scaled, and follows the seed", async () => {
  const { Generator } = await import("../src/index.js");
  const g = new Generator(5);
  const m = g.dropoutMask(100000, 0.7, 1 / 0.7);
  let kept = 0;
  for (const v of m) {
    if (v !== 0) {
      kept++;
      if (Math.abs(v - 1 / 0.7) > 1e-6) throw new Error(`kept entry ${v} is not 1/0.7`);
    }
  }
  if (Math.abs(kept / 100000 - 0.7) > 0.01) throw new Error(`kept fraction ${kept / 100000}`);
  // the same seed gives the same mask
  const a = new Generator(9).dropoutMask(50, 0.5, 2), b = new Generator(9).dropoutMask(50, 0.5, 2);
  if (a.some((v, i) => v !== b[i])) throw new Error("same seed, different masks");
  // consecutive masks differ (the generator advances)
  const g3 = new Generator(3);
  const m1 = g3.dropoutMask(64, 0.5, 2), m2 = g3.dropoutMask(64, 0.5, 2);
  if (m1.every((v, i) => v === m2[i])) throw new Error("two masks in a row are the same");
});

test("withBackend runs on the named backend and restores the previous one, even after a throw", async () => {
  const { withBackend, backendName, availableBackends } = await import("../src/index.js");
  const before = backendName();
  for (const name of availableBackends()) {
    if (withBackend(name, () => backendName()) !== name) throw new Error(`withBackend(${name}) ran elsewhere`);
    try {
      withBackend(name, () => { throw new Error("boom"); });
    } catch { /* expected */ }
    if (backendName() !== before) throw new Error(`backend not restored after ${name}`);
  }
});

test("backward: a leaf keeps the gradient array its op allocated for it alone; shared gradients and the seed are copied", () => {
  T.manualSeed(5);
  const slice = Float32Array.prototype.slice;
  let copies = 0;
  Float32Array.prototype.slice = function (this: Float32Array, ...args: Parameters<Float32Array["slice"]>) {
    copies++;
    return slice.apply(this, args);
  };
  try {
    // a Linear's dW and db and a LayerNorm's dgamma/dbeta are their ops' own arrays: no copy
    const x = T.randn([4, 3]), w = T.randn([2, 3], { requiresGrad: true }), b = T.randn([2], { requiresGrad: true });
    const g = T.randn([2]), beta = T.randn([2]);
    g.requiresGrad_(); beta.requiresGrad_();
    copies = 0;
    T.layerNorm(T.linear(x, w, b), [2], g, beta).sum().backward();
    assert.equal(copies, 0, "leaf gradients were copied");
    // add hands one gradient to both inputs: each leaf gets its own copy, so an optimizer editing
    // one .grad in place leaves the other alone
    const p = T.randn([3], { requiresGrad: true }), q = T.randn([3], { requiresGrad: true });
    copies = 0;
    T.add(p, q).sum().backward();
    assert.equal(copies, 2);
    assert.notEqual(p.grad!.data, q.grad!.data);
    p.grad!.data[0] = 99;
    assert.equal(q.grad!.data[0], 1);
    // the caller's seed is never taken
    const leaf = T.randn([3], { requiresGrad: true }), seed = T.randn([3]);
    leaf.backward(seed);
    assert.notEqual(leaf.grad!.data, seed.data);
    assert.deepEqual(Array.from(leaf.grad!.data), Array.from(seed.data));
  } finally {
    Float32Array.prototype.slice = slice;
  }
});
