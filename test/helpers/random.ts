// A small seeded property-test harness over fast-check: random shapes (rank 0..4, sizes 1..5),
// broadcast-compatible shape pairs, dim subsets, and seeded tensor values.
//
// Runs are deterministic (seed 20240601) unless FC_SEED is set: FC_SEED=123 replays a seed,
// FC_SEED=random draws a fresh one. A failing property prints its seed, the path to replay it
// and the (shrunk) counterexample, i.e. the shapes and the value seed.

import fc from "fast-check";
import { tensor, type Tensor } from "../../src/index.js";

export { fc };

const envSeed = process.env.FC_SEED;
export const BASE_SEED = envSeed === "random" ? Math.floor(Math.random() * 2 ** 31) : envSeed ? Number(envSeed) : 20240601;

/** Number of trials per property; FC_RUNS overrides it (and every property's own count). */
export const RUNS = process.env.FC_RUNS ? Number(process.env.FC_RUNS) : 25;

/** Check a property; throws with seed and counterexample on failure. */
export function property<T>(name: string, arb: fc.Arbitrary<T>, check: (v: T) => void, numRuns = RUNS): void {
  if (process.env.FC_RUNS) numRuns = RUNS;
  const details = fc.check(fc.property(arb, (v) => { check(v); }), { seed: BASE_SEED, numRuns, endOnFailure: false });
  if (details.failed) {
    const err = details.errorInstance;
    const msg = err instanceof Error ? err.message : String(err);
    throw new Error(
      `property "${name}" failed (seed ${details.seed}, path "${details.counterexamplePath}", after ${details.numRuns} runs)\n` +
        `counterexample: ${fc.stringify(details.counterexample)}\n${msg}`,
    );
  }
}

// --- seeded values -----------------------------------------------------------------------------

/** mulberry32: a tiny PRNG independent of the engine's own generator. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = (seed >>> 0) ^ 0x6d2b79f5;
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo));
  }
  normal(): number {
    const u = 1 - this.next(), v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}

export const sizeOf = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

export interface ValueOptions {
  lo?: number;
  hi?: number;
  /** Keep |x| >= this (kinks at 0: relu, abs, ...). */
  awayFromZero?: number;
  requiresGrad?: boolean;
}

/** A float32 tensor with values uniform in [lo, hi), optionally kept away from 0. */
export function randTensor(rng: Rng, shape: readonly number[], o: ValueOptions = {}): Tensor {
  const lo = o.lo ?? -2, hi = o.hi ?? 2, away = o.awayFromZero ?? 0;
  const n = sizeOf(shape);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let v = rng.uniform(lo, hi);
    if (away > 0 && Math.abs(v) < away) v = (v < 0 ? -1 : 1) * (away + Math.abs(v));
    d[i] = v;
  }
  return tensor(d, [...shape], { requiresGrad: o.requiresGrad ?? false });
}

/** Distinct values spaced >= `gap` apart, shuffled (for max/min/maxPool: no ties, no near-ties). */
export function distinctTensor(rng: Rng, shape: readonly number[], gap = 0.01): Tensor {
  const n = sizeOf(shape);
  const idx = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(0, i + 1);
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  const d = Float32Array.from(idx, (k) => (k - n / 2) * gap + gap * 0.25 * rng.next());
  return tensor(d, [...shape]);
}

export function randInts(rng: Rng, shape: readonly number[], lo: number, hi: number): Tensor {
  const n = sizeOf(shape);
  return tensor(Int32Array.from({ length: n }, () => rng.int(lo, hi)), [...shape]);
}

// --- arbitraries -------------------------------------------------------------------------------

export const seedArb = fc.integer({ min: 0, max: 2 ** 31 - 1 });

export function shapeArb(minRank = 0, maxRank = 4, minSize = 1, maxSize = 5): fc.Arbitrary<number[]> {
  return fc.array(fc.integer({ min: minSize, max: maxSize }), { minLength: minRank, maxLength: maxRank });
}

/** Two shapes that broadcast together: drop leading dims and set some dims to 1 in each. */
export function broadcastPairArb(maxRank = 4, maxSize = 4): fc.Arbitrary<[number[], number[]]> {
  return fc
    .record({
      out: shapeArb(0, maxRank, 1, maxSize),
      dropA: fc.integer({ min: 0, max: maxRank }),
      dropB: fc.integer({ min: 0, max: maxRank }),
      onesA: fc.array(fc.boolean(), { minLength: maxRank, maxLength: maxRank }),
      onesB: fc.array(fc.boolean(), { minLength: maxRank, maxLength: maxRank }),
    })
    .map(({ out, dropA, dropB, onesA, onesB }) => {
      const mk = (drop: number, ones: boolean[]): number[] =>
        out.slice(Math.min(drop, out.length)).map((d, i) => (ones[i] ? 1 : d));
      // a keeps the full rank half of the time, so rank-broadcasting goes both ways
      return [mk(dropA % 2 === 0 ? 0 : dropA, onesA), mk(dropB, onesB)] as [number[], number[]];
    });
}

/** A shape of rank >= 1 together with a non-empty sorted subset of its dims (or all dims). */
export function shapeWithDimsArb(minRank = 1, maxRank = 4): fc.Arbitrary<{ shape: number[]; dims: number[] | undefined; keepdim: boolean; seed: number }> {
  return fc
    .record({
      shape: shapeArb(minRank, maxRank),
      pick: fc.array(fc.boolean(), { minLength: maxRank, maxLength: maxRank }),
      all: fc.boolean(),
      negative: fc.boolean(),
      keepdim: fc.boolean(),
      seed: seedArb,
    })
    .map(({ shape, pick, all, negative, keepdim, seed }) => {
      let dims: number[] | undefined = shape.map((_, i) => i).filter((i) => pick[i]);
      if (all || dims.length === 0) dims = all ? undefined : [0];
      if (dims && negative) dims = dims.map((d) => d - shape.length);
      return { shape, dims, keepdim, seed };
    });
}

/** A shape of rank >= 1 and one dim in it (negative half of the time). */
export function shapeWithDimArb(minRank = 1, maxRank = 4): fc.Arbitrary<{ shape: number[]; dim: number; seed: number }> {
  return fc
    .record({ shape: shapeArb(minRank, maxRank), d: fc.nat(), negative: fc.boolean(), seed: seedArb })
    .map(({ shape, d, negative, seed }) => {
      const dim = d % shape.length;
      return { shape, dim: negative ? dim - shape.length : dim, seed };
    });
}
