// Initialisers: bounds and standard deviations on large tensors (Glorot & Bengio 2010,
// He et al. 2015, truncated normal), the layers' PyTorch default inits, and seeding.

import assert from "node:assert/strict";
import { test } from "node:test";

import { nn, manualSeed, zeros, Generator, Tensor } from "../src/index.js";

const { init } = nn;

function stats(t: Tensor): { mean: number; std: number; min: number; max: number } {
  let s = 0, s2 = 0, min = Infinity, max = -Infinity;
  for (const v of t.data) {
    s += v; s2 += v * v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const n = t.numel, mean = s / n;
  return { mean, std: Math.sqrt(s2 / n - mean * mean), min, max };
}

/** Relative closeness for statistics of ~1e5 samples (std error of a std is ~0.2%). */
function near(actual: number, expected: number, rel: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= rel * Math.abs(expected), `${what}: ${actual} vs expected ${expected}`);
}

test("fans follow PyTorch: [out, in, *kernel]", () => {
  assert.deepEqual(init.fans(zeros([30, 20])), { fanIn: 20, fanOut: 30 });
  assert.deepEqual(init.fans(zeros([16, 8, 3, 3])), { fanIn: 72, fanOut: 144 });
  assert.deepEqual(init.fans(zeros([4, 2, 2, 3, 3])), { fanIn: 36, fanOut: 72 });
  assert.throws(() => init.fans(zeros([5])), /rank >= 2/);
});

test("xavierUniform_: U(-a, a), a = gain * sqrt(6 / (fanIn + fanOut))", () => {
  manualSeed(0);
  for (const gain of [1, 5 / 3]) {
    const t = init.xavierUniform_(zeros([300, 500]), gain);
    const a = gain * Math.sqrt(6 / 800);
    const s = stats(t);
    assert.ok(s.min >= -a && s.max <= a, "inside the bound");
    assert.ok(s.min < -0.99 * a && s.max > 0.99 * a, "fills the bound");
    near(s.std, a / Math.sqrt(3), 0.01, `std (gain ${gain})`);
    assert.ok(Math.abs(s.mean) < 0.01 * a);
  }
});

test("xavierNormal_: N(0, gain^2 * 2 / (fanIn + fanOut)), also for conv kernels", () => {
  manualSeed(1);
  near(stats(init.xavierNormal_(zeros([300, 500]))).std, Math.sqrt(2 / 800), 0.01, "std");
  near(stats(init.xavierNormal_(zeros([64, 32, 3, 3]), 2)).std, 2 * Math.sqrt(2 / (288 + 576)), 0.01, "conv std, gain 2");
});

test("kaimingNormal_: std = gain / sqrt(fan) for fanIn and fanOut, relu / leaky relu / linear gains", () => {
  manualSeed(2);
  const shape = [128, 64, 3, 3]; // fanIn 576, fanOut 1152
  const cases: [nn.init.KaimingOptions, number][] = [
    [{ nonlinearity: "relu" }, Math.SQRT2 / Math.sqrt(576)],
    [{ nonlinearity: "relu", mode: "fanOut" }, Math.SQRT2 / Math.sqrt(1152)],
    [{}, Math.SQRT2 / Math.sqrt(576)], // leaky relu with a = 0, torch's default
    [{ a: 0.2 }, Math.sqrt(2 / 1.04) / Math.sqrt(576)],
    [{ nonlinearity: "linear", mode: "fanOut" }, 1 / Math.sqrt(1152)],
    [{ nonlinearity: "tanh" }, 5 / 3 / Math.sqrt(576)],
  ];
  for (const [o, std] of cases) {
    const s = stats(init.kaimingNormal_(zeros(shape), o));
    near(s.std, std, 0.01, `std for ${JSON.stringify(o)}`);
    assert.ok(Math.abs(s.mean) < 0.02 * std);
  }
});

test("kaimingUniform_: U(-b, b), b = gain * sqrt(3 / fan)", () => {
  manualSeed(3);
  for (const [o, fan] of [[{ nonlinearity: "relu" }, 512], [{ nonlinearity: "relu", mode: "fanOut" }, 256]] as const) {
    const s = stats(init.kaimingUniform_(zeros([256, 512]), o));
    const b = Math.SQRT2 * Math.sqrt(3 / fan);
    assert.ok(s.min >= -b && s.max <= b && s.max > 0.99 * b);
    near(s.std, Math.SQRT2 / Math.sqrt(fan), 0.01, `std ${o.mode ?? "fanIn"}`);
  }
});

test("truncNormal_: values stay in [a, b] with the truncated distribution's std", () => {
  manualSeed(4);
  // a and b are absolute bounds (like torch.nn.init.trunc_normal_): std 0.02 in [-2, 2] is untruncated
  const vit = stats(init.truncNormal_(zeros([400, 250]), 0, 0.02));
  near(vit.std, 0.02, 0.01, "ViT init std");
  // N(0, 1) cut at +-2 sigma: variance 1 - 2 * 2 phi(2) / (Phi(2) - Phi(-2))
  const phi2 = Math.exp(-2) / Math.sqrt(2 * Math.PI);
  const mass = 0.9544997361036416;
  const s = stats(init.truncNormal_(zeros([400, 250])));
  assert.ok(s.min >= -2 && s.max <= 2 && s.min < -1.99 && s.max > 1.99);
  near(s.std, Math.sqrt(1 - (4 * phi2) / mass), 0.01, "std cut at 2 sigma");
  assert.ok(Math.abs(s.mean) < 0.01);
  // asymmetric window with a shifted mean: mean mu + sigma (phi(alpha) - phi(beta)) / Z
  const t = init.truncNormal_(zeros([100000]), 1, 2, 0, 3);
  const st = stats(t);
  assert.ok(st.min >= 0 && st.max <= 3);
  const pdf = (x: number): number => Math.exp(-x * x / 2) / Math.sqrt(2 * Math.PI);
  const alpha = -0.5, beta = 1; // (0 - 1) / 2, (3 - 1) / 2
  const Z = 0.8413447460685429 - 0.3085375387259869; // Phi(1) - Phi(-0.5)
  near(st.mean, 1 + 2 * (pdf(alpha) - pdf(beta)) / Z, 0.01, "truncated mean");
  // a window far in the tail must not hang
  // a window far in the tail must not hang (and still has the right distribution):
  // N(0, 1) on [6, 7] has mean 6.15721, std 0.150826; mirrored on [-7, -6]
  const tail = stats(init.truncNormal_(zeros([100000]), 0, 1, 6, 7));
  assert.ok(tail.min >= 6 && tail.max <= 7, `tail window: ${tail.min}..${tail.max}`);
  near(tail.mean, 6.157211, 0.001, "tail mean");
  near(tail.std, 0.150826, 0.02, "tail std");
  const low = stats(init.truncNormal_(zeros([100000]), 10, 2, -4, -2)); // same window, scaled and shifted
  assert.ok(low.min >= -4 && low.max <= -2);
  near(low.mean, 10 - 2 * 6.157211, 0.001, "lower tail mean");
  near(low.std, 2 * 0.150826, 0.02, "lower tail std");
  assert.throws(() => init.truncNormal_(zeros([2]), 0, 1, 2, -2), /a < b/);
});

test("uniform_, normal_, constant_ and friends", () => {
  manualSeed(5);
  const u = stats(init.uniform_(zeros([100000]), -3, 1));
  assert.ok(u.min >= -3 && u.max < 1);
  near(u.mean, -1, 0.02, "uniform mean");
  near(u.std, 4 / Math.sqrt(12), 0.01, "uniform std");
  const n = stats(init.normal_(zeros([100000]), 2, 0.5));
  near(n.mean, 2, 0.005, "normal mean");
  near(n.std, 0.5, 0.01, "normal std");
  assert.deepEqual(Array.from(init.constant_(zeros([3]), 0.25).data), [0.25, 0.25, 0.25]);
  assert.deepEqual(Array.from(init.ones_(zeros([2])).data), [1, 1]);
});

test("Linear and Conv default init: weight and bias in U(-1/sqrt(fanIn), 1/sqrt(fanIn)), as PyTorch", () => {
  manualSeed(6);
  const lin = new nn.Linear(400, 300);
  const bound = 1 / Math.sqrt(400);
  const w = stats(lin.weight);
  assert.ok(w.min >= -bound && w.max <= bound && w.max > 0.99 * bound);
  near(w.std, bound / Math.sqrt(3), 0.01, "Linear weight std");
  const b = stats(lin.bias!);
  assert.ok(b.min >= -bound && b.max <= bound && b.max > 0.9 * bound);

  const conv = new nn.Conv2d(64, 128, 3, { groups: 2 }); // fanIn = 32 * 9
  const cb = 1 / Math.sqrt(32 * 9);
  const cw = stats(conv.weight);
  assert.ok(cw.min >= -cb && cw.max <= cb && cw.max > 0.99 * cb);
  near(cw.std, cb / Math.sqrt(3), 0.02, "Conv2d weight std");
  const bb = stats(conv.bias!);
  assert.ok(bb.min >= -cb && bb.max <= cb);

  const emb = stats(new nn.Embedding(1000, 100).weight);
  near(emb.std, 1, 0.01, "Embedding std (N(0, 1))");
  const ln = new nn.LayerNorm(8);
  assert.deepEqual(Array.from(ln.weight!.data), new Array(8).fill(1));
  assert.deepEqual(Array.from(ln.bias!.data), new Array(8).fill(0));
});

test("manualSeed makes initialisation reproducible; a separate Generator is independent", () => {
  const make = (): number[] => [...new nn.Linear(8, 4).weight.data, ...new nn.Conv3d(2, 2, 2).weight.data];
  manualSeed(123);
  const a = make();
  manualSeed(123);
  const b = make();
  manualSeed(124);
  const c = make();
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);

  const g1 = new Generator(9), g2 = new Generator(9);
  manualSeed(0);
  const x = init.xavierUniform_(zeros([5, 5]), 1, g1);
  init.normal_(zeros([100])); // draws from the default generator do not disturb g2
  const y = init.xavierUniform_(zeros([5, 5]), 1, g2);
  assert.deepEqual(Array.from(x.data), Array.from(y.data));
  const k1 = init.kaimingNormal_(zeros([4, 4]), { generator: new Generator(2) });
  const k2 = init.kaimingNormal_(zeros([4, 4]), { generator: new Generator(2) });
  assert.deepEqual(Array.from(k1.data), Array.from(k2.data));
});
