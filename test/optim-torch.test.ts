// Optimizers, gradient clipping and schedules against PyTorch 1.13 (scripts/fixtures/nn.py).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { nn, optim, F, tensor, Tensor, availableBackends, withBackend } from "../src/index.js";

interface FT { shape: number[]; data: number[] }
type Opts = Record<string, unknown>;
interface OptCase { name: string; optimizer: "SGD" | "Adam" | "AdamW"; defaults: Opts; groups: Opts[] | null; trajectory: FT[][] }

const fixture = JSON.parse(readFileSync(new URL("../../test/fixtures/nn.json", import.meta.url), "utf8")) as {
  optim: {
    init: FT[]; grads: FT[][]; cases: OptCase[];
    loop: {
      init: Record<string, FT>; x: FT; y: FT; lr: number; weightDecay: number; maxNorm: number;
      losses: number[]; norms: number[]; trajectory: Record<string, FT>[];
    };
  };
  clip: { maxNorm: number; grads: FT[]; totalNorm: number; clipped: FT[] }[];
  schedules: { kind: string; args: number[]; baseLrs: number[]; lrs: number[][]; factors: number[] }[];
};

const f32 = (f: FT): Tensor => tensor(Float32Array.from(f.data), f.shape);
const param = (f: FT): nn.Parameter => new nn.Parameter(f32(f));

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, rtol = 1e-6, atol = 1e-7): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], e = expected[i];
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) assert.fail(`${what}[${i}]: got ${a}, expected ${e}`);
  }
}

function makeOptimizer(c: OptCase, params: nn.Parameter[]): optim.Optimizer<{ lr: number }> {
  const args = c.groups ? c.groups.map((o, i) => ({ params: [params[i]], options: o })) : params;
  switch (c.optimizer) {
    case "SGD": return new optim.SGD(args as any, c.defaults as any);
    case "Adam": return new optim.Adam(args as any, c.defaults as any);
    case "AdamW": return new optim.AdamW(args as any, c.defaults as any);
  }
}



function runTrajectory(c: OptCase, rtol: number, atol: number): void {
  const params = fixture.optim.init.map(param);
  const opt = makeOptimizer(c, params);
  fixture.optim.grads.forEach((gs, step) => {
    params.forEach((p, i) => (p.grad = f32(gs[i])));
    opt.step();
    params.forEach((p, i) => assertClose(p.data, c.trajectory[step][i].data, `${c.name} step ${step + 1} param ${i}`, rtol, atol));
  });
}

function runLoop(rtol: number): void {
  const L = fixture.optim.loop;
  const lin = new nn.Linear(3, 2);
  lin.loadStateDict({ weight: f32(L.init.weight), bias: f32(L.init.bias) });
  const opt = new optim.AdamW([
    { params: [lin.weight], options: { weightDecay: L.weightDecay } },
    { params: [lin.bias!], options: { weightDecay: 0 } },
  ], { lr: L.lr });
  const x = f32(L.x), y = f32(L.y);
  for (let step = 0; step < L.losses.length; step++) {
    opt.zeroGrad();
    const loss = F.mseLoss(lin.forward(x), y);
    loss.backward();
    const norm = optim.clipGradNorm(lin.parameters(), L.maxNorm);
    opt.step();
    assertClose([loss.item()], [L.losses[step]], `loss ${step}`, 1e-5);
    assertClose([norm], [L.norms[step]], `grad norm ${step}`, 1e-5);
    assertClose(lin.weight.data, L.trajectory[step].weight.data, `weight after step ${step + 1}`, rtol, 1e-6);
    assertClose(lin.bias!.data, L.trajectory[step].bias.data, `bias after step ${step + 1}`, rtol, 1e-6);
  }
}

for (const backend of availableBackends()) {
  for (const c of fixture.optim.cases) {
    // the native AdamW once rounded (1 - beta2) to float32, 1e-5 off torch; this bound caught it
    test(`[${backend}] optimizer ${c.name}: ${fixture.optim.grads.length}-step trajectory within 1e-6 of torch`, () => {
      withBackend(backend, () => runTrajectory(c, 1e-6, 1e-7));
    });
  }

  test(`[${backend}] a whole loop (Linear, MSE, backward, clipGradNorm, AdamW groups) matches torch`, () => {
    // the gradients themselves carry float32 summation-order noise, which Adam normalises
    withBackend(backend, () => runLoop(1e-5));
  });
}

for (const c of fixture.clip) {
  test(`clipGradNorm(maxNorm=${c.maxNorm}) matches torch.nn.utils.clip_grad_norm_`, () => {
    const ps = c.grads.map((g) => {
      const p = new nn.Parameter(new Float32Array(g.data.length), g.shape);
      p.grad = f32(g);
      return p;
    });
    const total = optim.clipGradNorm(ps, c.maxNorm);
    assertClose([total], [c.totalNorm], "total norm", 1e-6);
    ps.forEach((p, i) => assertClose(p.grad!.data, c.clipped[i].data, `clipped grad ${i}`));
  });
}

test("clipGradNorm skips parameters without a gradient and returns 0 when none have one", () => {
  const a = new nn.Parameter(new Float32Array([3, 4]));
  const b = new nn.Parameter(new Float32Array([1, 1]));
  a.grad = tensor([3, 4]);
  assert.ok(Math.abs(optim.clipGradNorm([a, b], 1) - 5) < 1e-6);
  assert.equal(b.grad, null);
  assertClose(a.grad.data, [0.6, 0.8], "clipped", 1e-5);
  assert.equal(optim.clipGradNorm([b], 1), 0);
});

function scheduleOf(kind: string, args: number[]): optim.Schedule {
  switch (kind) {
    case "constant": return optim.constantSchedule();
    case "warmupCosine": return optim.warmupCosineSchedule(args[0], args[1], args[2]);
    case "warmupLinear": return optim.warmupLinearSchedule(args[0], args[1]);
    case "inverseSqrt": return optim.inverseSqrtSchedule(args[0], args[1]);
    default: throw new Error(`unknown schedule ${kind}`);
  }
}

for (const s of fixture.schedules) {
  test(`schedule ${s.kind}(${s.args.join(", ")}): factors and LRScheduler lrs match torch LambdaLR`, () => {
    const f = scheduleOf(s.kind, s.args);
    assertClose(s.factors.map((_, i) => f(i)), s.factors, "factors", 1e-12, 1e-15);
    const w = new nn.Parameter(new Float32Array(1)), b = new nn.Parameter(new Float32Array(1));
    const opt = new optim.SGD([{ params: [w], options: { lr: s.baseLrs[0] } }, { params: [b], options: { lr: s.baseLrs[1] } }], { lr: 1 });
    const sched = new optim.LRScheduler(opt, f);
    s.lrs.forEach((lrs, step) => {
      assertClose(opt.paramGroups.map((g) => g.options.lr), lrs, `lrs before update ${step}`, 1e-12, 1e-15);
      assert.equal(sched.lr, opt.paramGroups[0].options.lr);
      opt.step();
      sched.step();
    });
  });
}

test("inverseSqrtSchedule is the paper's formula: peak at step_num = warmup, d^-0.5 * warmup^-0.5", () => {
  const f = optim.inverseSqrtSchedule(512, 4000);
  // step index 3999 is step_num 4000 (the first update is step_num 1)
  const peak = 512 ** -0.5 * 4000 ** -0.5;
  assert.ok(Math.abs(f(3999) - peak) < 1e-15);
  assert.ok(f(3998) < peak && f(4000) < peak);
  assert.ok(Math.abs(f(0) - 512 ** -0.5 * 4000 ** -1.5) < 1e-18);
  // after warmup, proportional to step_num^-0.5
  assert.ok(Math.abs(f(15999) / f(3999) - 0.5) < 1e-12);
});

test("warmup schedules: ramp to 1 at the end of warmup, end at minFactor (cosine) or 0 (linear)", () => {
  const cos = optim.warmupCosineSchedule(10, 110, 0.1);
  assert.equal(cos(9), 1);
  assert.equal(cos(10), 1);
  assert.ok(Math.abs(cos(60) - 0.55) < 1e-12);
  assert.ok(Math.abs(cos(110) - 0.1) < 1e-12);
  assert.ok(Math.abs(cos(500) - 0.1) < 1e-12, "stays at minFactor after totalSteps");
  const lin = optim.warmupLinearSchedule(10, 110);
  assert.equal(lin(9), 1);
  assert.ok(Math.abs(lin(60) - 0.5) < 1e-12);
  assert.equal(lin(110), 0);
  assert.equal(lin(200), 0);
  for (let i = 0; i < 10; i++) assert.ok(Math.abs(cos(i) - (i + 1) / 10) < 1e-12 && Math.abs(lin(i) - (i + 1) / 10) < 1e-12);
});
