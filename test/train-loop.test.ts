// End to end: small models learn, parameter groups split as the GPT-2/BERT recipe says, and a
// training run resumed from optimizer + model state dicts continues bit for bit.

import assert from "node:assert/strict";
import { test } from "node:test";

import { nn, optim, train, F, manualSeed, tensor, Tensor, noGrad } from "../src/index.js";

/** Two interleaved spiral arms (a classic non-linearly separable 2-D problem). */
function spiral(perClass: number): { x: Tensor; y: Tensor } {
  const xs: number[] = [], ys: number[] = [];
  for (let c = 0; c < 2; c++) {
    for (let i = 0; i < perClass; i++) {
      const r = (i + 1) / perClass;
      const t = 1.75 * Math.PI * r + c * Math.PI;
      xs.push(r * Math.cos(t), r * Math.sin(t));
      ys.push(c);
    }
  }
  return { x: tensor(Float32Array.from(xs), [2 * perClass, 2]), y: tensor(Int32Array.from(ys), [2 * perClass], { dtype: "int32" }) };
}

function mlp(sizes: number[], act: () => nn.UnaryModule = () => new nn.Tanh()): nn.Sequential {
  const mods: nn.UnaryModule[] = [];
  sizes.slice(1).forEach((n, i) => {
    mods.push(new nn.Linear(sizes[i], n));
    if (i < sizes.length - 2) mods.push(act());
  });
  return new nn.Sequential(...mods);
}

test("an MLP learns XOR with AdamW", () => {
  manualSeed(0);
  const x = tensor([[0, 0], [0, 1], [1, 0], [1, 1]]);
  const y = tensor(Int32Array.from([0, 1, 1, 0]), [4], { dtype: "int32" });
  const model = mlp([2, 8, 2]);
  const opt = new optim.AdamW(optim.weightDecayGroups(model, 0.01), { lr: 0.05 });
  let loss = Infinity;
  for (let step = 0; step < 300; step++) {
    opt.zeroGrad();
    const l = F.crossEntropy(model.forward(x), y);
    l.backward();
    opt.step();
    loss = l.item();
  }
  assert.ok(loss < 0.05, `final loss ${loss}`);
  assert.equal(train.accuracy(noGrad(() => model.forward(x)), y), 1);
});

test("an MLP learns a 2-D two-arm spiral to >= 98% with AdamW, warmup-cosine and clipping, in < 2 s", () => {
  manualSeed(1);
  const { x, y } = spiral(100);
  const model = mlp([2, 32, 32, 2]);
  const opt = new optim.AdamW(optim.weightDecayGroups(model, 1e-4), { lr: 0.02 });
  const steps = 400;
  const sched = new optim.LRScheduler(opt, optim.warmupCosineSchedule(20, steps, 0.05));
  const first = F.crossEntropy(noGrad(() => model.forward(x)), y).item();
  let last = first;
  for (let step = 0; step < steps; step++) {
    opt.zeroGrad();
    const loss = F.crossEntropy(model.forward(x), y);
    loss.backward();
    optim.clipGradNorm(model.parameters(), 1);
    opt.step();
    sched.step();
    last = loss.item();
  }
  const acc = train.accuracy(noGrad(() => model.eval().forward(x)), y);
  assert.ok(acc >= 0.98, `accuracy ${acc} (loss ${first} -> ${last})`);
  assert.ok(last < first / 5, `loss ${first} -> ${last}`);
});

test("a Conv2d + pooling network fits a tiny image task (vertical vs horizontal bars)", () => {
  manualSeed(2);
  const n = 32, imgs = new Float32Array(n * 36), labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 2;
    const k = (i >> 1) % 6;
    for (let r = 0; r < 6; r++) for (let c = 0; c < 6; c++) imgs[i * 36 + r * 6 + c] = (labels[i] ? c === k : r === k) ? 1 : 0;
  }
  const x = tensor(imgs, [n, 1, 6, 6]), y = tensor(labels, [n], { dtype: "int32" });
  const model = new nn.Sequential(new nn.Conv2d(1, 4, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Flatten(), new nn.Linear(4 * 9, 2));
  const opt = new optim.Adam(model.parameters(), { lr: 0.03 });
  for (let step = 0; step < 60; step++) {
    opt.zeroGrad();
    F.crossEntropy(model.forward(x), y).backward();
    opt.step();
  }
  assert.equal(train.accuracy(noGrad(() => model.forward(x)), y), 1);
});

test("weightDecayGroups: matrices and kernels decay; biases, norm weights and other 1-D params do not", () => {
  class M extends nn.Module {
    embed = new nn.Embedding(5, 4);
    norm = new nn.LayerNorm(4);
    conv = new nn.Conv1d(4, 4, 3);
    head = new nn.Linear(4, 2);
    scale = new nn.Parameter(new Float32Array([1]));
  }
  const m = new M();
  const groups = optim.weightDecayGroups<optim.AdamOptions>(m, 0.1);
  assert.equal(groups.length, 2);
  const name = new Map(m.namedParameters().map(([n, p]) => [p, n]));
  assert.deepEqual(groups[0].params.map((p) => name.get(p)), ["embed.weight", "conv.weight", "head.weight"]);
  assert.deepEqual(groups[1].params.map((p) => name.get(p)), ["norm.weight", "norm.bias", "conv.bias", "head.bias", "scale"]);
  assert.equal(groups[0].options!.weightDecay, 0.1);
  assert.equal(groups[1].options!.weightDecay, 0);
  const opt = new optim.AdamW(groups, { lr: 1e-3 });
  assert.deepEqual(opt.paramGroups.map((g) => g.options.weightDecay), [0.1, 0]);
  assert.deepEqual(opt.paramGroups.map((g) => g.options.lr), [1e-3, 1e-3]);
  // a model with no 1-D parameters gets one group
  assert.equal(optim.weightDecayGroups(new nn.Linear(3, 3, { bias: false }), 0.1).length, 1);
  // with decoupled decay and zero gradients, only the decay group shrinks
  const w0 = m.head.weight.data[0], b0 = m.head.bias!.data[0];
  for (const p of m.parameters()) p.grad = tensor(new Float32Array(p.numel), p.shape);
  new optim.AdamW(optim.weightDecayGroups(m, 0.5), { lr: 0.1 }).step();
  assert.ok(Math.abs(m.head.weight.data[0] - w0 * 0.95) < 1e-6);
  assert.equal(m.head.bias!.data[0], b0);
});

test("optimizers refuse empty lists and frozen parameters; SGD checks Nesterov's conditions", () => {
  assert.throws(() => new optim.SGD([], { lr: 0.1 }), /empty parameter list/);
  const frozen = new nn.Parameter(new Float32Array(2));
  frozen.requiresGrad = false;
  assert.throws(() => new optim.Adam([frozen]), /must require grad/);
  assert.throws(() => new optim.SGD([new nn.Parameter(new Float32Array(1))], { lr: 0.1, nesterov: true }), /Nesterov/);
});

test("parameters without a gradient are left alone by every optimizer", () => {
  for (const make of [
    (ps: nn.Parameter[]) => new optim.SGD(ps, { lr: 0.1, momentum: 0.9, weightDecay: 0.1 }),
    (ps: nn.Parameter[]) => new optim.Adam(ps, { weightDecay: 0.1 }),
    (ps: nn.Parameter[]) => new optim.AdamW(ps, { weightDecay: 0.1 }),
  ]) {
    const a = new nn.Parameter(new Float32Array([1, 2])), b = new nn.Parameter(new Float32Array([3]));
    a.grad = tensor([1, 1]);
    make([a, b]).step();
    assert.notDeepEqual(Array.from(a.data), [1, 2]);
    assert.deepEqual(Array.from(b.data), [3]);
  }
});

type MakeOpt = (m: nn.Module) => optim.Optimizer<{ lr: number }>;

/** Train `steps` steps of a small regression from the current state; returns the loss values. */
function run(model: nn.Sequential, opt: optim.Optimizer<{ lr: number }>, sched: optim.LRScheduler, from: number, steps: number): number[] {
  const losses: number[] = [];
  for (let s = from; s < from + steps; s++) {
    // a fixed, step-dependent batch, so a resumed run sees the same data
    const xs = Float32Array.from({ length: 16 * 3 }, (_, i) => Math.sin(i * 0.7 + s));
    const ys = Float32Array.from({ length: 16 }, (_, i) => Math.cos(i * 0.3 - s));
    opt.zeroGrad();
    const loss = F.mseLoss(model.forward(tensor(xs, [16, 3])), tensor(ys, [16, 1]));
    loss.backward();
    opt.step();
    sched.step();
    losses.push(loss.item());
  }
  return losses;
}

for (const [name, make] of [
  ["SGD (momentum, Nesterov)", (m: nn.Module) => new optim.SGD(m.parameters(), { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-3 })],
  ["Adam", (m: nn.Module) => new optim.Adam(m.parameters(), { lr: 0.01, weightDecay: 1e-3 })],
  ["AdamW (groups)", (m: nn.Module) => new optim.AdamW(optim.weightDecayGroups(m, 0.05), { lr: 0.01 })],
] as [string, MakeOpt][]) {
  test(`${name}: stateDict / loadStateDict (through JSON) resumes a run identically`, () => {
    const schedule = optim.warmupCosineSchedule(3, 12);
    manualSeed(10);
    const a = mlp([3, 8, 1]);
    const optA = make(a);
    const lossesA = run(a, optA, new optim.LRScheduler(optA, schedule), 0, 12);

    manualSeed(10);
    const b = mlp([3, 8, 1]);
    const optB = make(b);
    const schedB = new optim.LRScheduler(optB, schedule);
    const lossesB = run(b, optB, schedB, 0, 6);
    const ckpt = JSON.parse(JSON.stringify({
      model: Object.fromEntries(Object.entries(b.stateDict()).map(([k, t]) => [k, { shape: t.shape, data: Array.from(t.data) }])),
      optim: optB.stateDict(),
      sched: schedB.stateDict(),
    }));

    // a fresh process: different init, fresh optimizer and scheduler, then load
    manualSeed(99);
    const c = mlp([3, 8, 1]);
    c.loadStateDict(Object.fromEntries(Object.entries(ckpt.model as Record<string, { shape: number[]; data: number[] }>)
      .map(([k, v]) => [k, tensor(Float32Array.from(v.data), v.shape)])));
    const optC = make(c);
    const schedC = new optim.LRScheduler(optC, schedule);
    optC.loadStateDict(ckpt.optim);
    schedC.loadStateDict(ckpt.sched);
    assert.equal(schedC.lr, schedB.lr);
    const lossesC = run(c, optC, schedC, 6, 6);

    assert.deepEqual([...lossesB, ...lossesC], lossesA);
    for (const [[n, pa], [, pc]] of a.namedParameters().map((e, i) => [e, c.namedParameters()[i]] as const)) {
      assert.deepEqual(Array.from(pc.data), Array.from(pa.data), `${n} identical`);
    }
    assert.deepEqual(optC.stateDict(), optA.stateDict());
  });
}

test("Optimizer.loadStateDict refuses a different number of groups", () => {
  const m = mlp([2, 2, 1]);
  const two = new optim.AdamW(optim.weightDecayGroups(m, 0.1));
  const one = new optim.AdamW(m.parameters());
  assert.throws(() => one.loadStateDict(two.stateDict()), /2 groups saved, 1 here/);
});
