// Finite-difference gradient checking for float32 ops.
//
// The loss is L = sum(f(inputs) * w) with fixed random weights w, so every output element
// matters. Analytic gradients come from backward(). Numeric ones are central differences where
// the forward runs in float32 but the weighted sum is accumulated in float64 and the step is the
// actual float32 difference (x+eps) - (x-eps): with eps ~ 3e-3 on O(1) inputs the error is
// dominated by the O(eps^2) truncation term, well inside atol/rtol ~ 1e-2.
//
// Large inputs are checked on a random sample of coordinates (maxPerInput) to stay fast.

import assert from "node:assert/strict";
import { noGrad, tensor, type Tensor } from "../../src/index.js";
import { Rng, sizeOf } from "./random.js";

export interface GradcheckOptions {
  eps?: number;
  atol?: number;
  rtol?: number;
  /** Check at most this many coordinates of each input (random sample); default 24. */
  maxPerInput?: number;
  /** Seed for the weights w and the coordinate sample. */
  seed?: number;
  /** Label for messages. */
  label?: string;
  /** Which inputs to check (default all). */
  check?: boolean[];
}

function weightedSum(out: Tensor, w: Float64Array): number {
  const d = out.data;
  let s = 0;
  for (let i = 0; i < d.length; i++) s += d[i] * w[i];
  return s;
}

function describe(t: Tensor): string {
  return `[${t.shape.join(", ")}]`;
}

/**
 * Compare backward() against central differences for fn at `inputs` (float32 tensors).
 * fn receives fresh leaf tensors that require grad and must return a float32 tensor.
 * Returns the analytic gradients (for further checks).
 */
export function gradcheck(fn: (...xs: Tensor[]) => Tensor, inputs: readonly Tensor[], o: GradcheckOptions = {}): Tensor[] {
  const eps = o.eps ?? 3e-3, atol = o.atol ?? 1e-2, rtol = o.rtol ?? 1e-2;
  const maxPer = o.maxPerInput ?? 24;
  const rng = new Rng(o.seed ?? 1234);
  const label = o.label ?? "gradcheck";
  const checkMask = o.check ?? inputs.map(() => true);

  const leaves = inputs.map((t, i) => tensor((t.data as Float32Array).slice(), t.shape, { requiresGrad: checkMask[i] }));
  const out = fn(...leaves);
  assert.equal(out.dtype, "float32", `${label}: output must be float32`);
  const w = new Float64Array(out.numel);
  for (let i = 0; i < w.length; i++) w[i] = rng.uniform(-1, 1);
  const wT = tensor(Float32Array.from(w), out.shape);
  if (out.requiresGrad) {
    const loss = out.mul(wT).sum();
    loss.backward();
  }
  // the weights the FD uses must be exactly the float32 values the analytic path used
  for (let i = 0; i < w.length; i++) w[i] = wT.data[i];

  const analytic: Tensor[] = [];
  const failures: string[] = [];
  inputs.forEach((inp, k) => {
    if (!checkMask[k]) return;
    const g = leaves[k].grad;
    const gd = g ? g.data : new Float32Array(inp.numel);
    if (g) assert.deepEqual(g.shape, inp.shape, `${label}: grad of input ${k} has shape ${describe(g)}, expected ${describe(inp)}`);
    analytic[k] = g ?? tensor(new Float32Array(inp.numel), inp.shape);
    const n = inp.numel;
    let coords = Array.from({ length: n }, (_, i) => i);
    if (n > maxPer) {
      for (let i = n - 1; i > 0; i--) {
        const j = rng.int(0, i + 1);
        [coords[i], coords[j]] = [coords[j], coords[i]];
      }
      coords = coords.slice(0, maxPer);
    }
    const base = inputs.map((t) => tensor((t.data as Float32Array).slice(), t.shape));
    for (const c of coords) {
      const x0 = base[k].data[c];
      const xp = Math.fround(x0 + eps), xm = Math.fround(x0 - eps);
      base[k].data[c] = xp;
      const fp = noGrad(() => weightedSum(fn(...base), w));
      base[k].data[c] = xm;
      const fm = noGrad(() => weightedSum(fn(...base), w));
      base[k].data[c] = x0;
      const num = (fp - fm) / (xp - xm);
      const ana = gd[c];
      if (!(Math.abs(ana - num) <= atol + rtol * Math.abs(num))) {
        failures.push(`input ${k} ${describe(inp)} at flat index ${c} (x=${x0}): analytic ${ana}, numeric ${num}`);
      }
    }
  });
  if (failures.length) {
    assert.fail(
      `${label}: gradient mismatch (inputs ${inputs.map(describe).join(" ")}, output ${describe(out)}):\n  ` +
        failures.slice(0, 8).join("\n  ") + (failures.length > 8 ? `\n  ... ${failures.length - 8} more` : ""),
    );
  }
  return analytic;
}

/** Elementwise closeness with a readable message. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol = 1e-5, rtol = 1e-5, msg = "values"): void {
  assert.equal(actual.length, expected.length, `${msg}: length ${actual.length} vs expected ${expected.length}`);
  const bad: string[] = [];
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i], e = expected[i];
    if (Number.isNaN(e) ? !Number.isNaN(a) : !(a === e || Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      bad.push(`[${i}] ${a} vs ${e}`);
    }
  }
  if (bad.length) assert.fail(`${msg}: ${bad.length} of ${actual.length} differ (atol ${atol}, rtol ${rtol}): ${bad.slice(0, 6).join(", ")}`);
}

export { sizeOf };
