// Reading test/fixtures/text_models.json (scripts/fixtures/text_models.py) and comparing to it.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { tensor, type Tensor } from "../../src/index.js";

export interface FT { shape: number[]; data: number[]; dtype?: "int32" }

export interface ModelCase {
  name: string;
  kind: string;
  config: Record<string, any>;
  params: Record<string, FT>;
  inputs: Record<string, FT>;
  output?: FT;
  gradOutput?: FT;
  paramGrads: Record<string, FT>;
  [extra: string]: unknown;
}

let cached: Record<string, ModelCase[]> | null = null;

export function textFixture(): Record<string, ModelCase[]> {
  cached ??= JSON.parse(readFileSync(new URL("../../../test/fixtures/text_models.json", import.meta.url), "utf8")) as Record<string, ModelCase[]>;
  return cached;
}

export function fromFixture(f: FT): Tensor {
  if (f.dtype === "int32") return tensor(Int32Array.from(f.data), f.shape, { dtype: "int32" });
  return tensor(Float32Array.from(f.data), f.shape);
}

export function stateFromFixture(params: Record<string, FT>): Record<string, Tensor> {
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, fromFixture(v)]));
}

/** |a - b| <= atol + rtol * |b| elementwise; the message names the worst index. */
export function assertClose(actual: Tensor | null | undefined, expected: FT, what: string, atol = 1e-4, rtol = 1e-4): void {
  assert.ok(actual, `${what}: missing`);
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  let worst = -1, worstErr = 0;
  for (let i = 0; i < expected.data.length; i++) {
    const a = actual.data[i], e = expected.data[i];
    const err = Math.abs(a - e) - (atol + rtol * Math.abs(e));
    if (!(err <= 0) && (worst < 0 || err > worstErr)) { worst = i; worstErr = err; }
  }
  if (worst >= 0) assert.fail(`${what}: index ${worst}: got ${actual.data[worst]}, expected ${expected.data[worst]}`);
}

/**
 * Gradients: |a - b| <= tol * max|b| (float32 sums over many paths lose digits in proportion
 * to the largest entries, so the tolerance scales with the tensor, not with each entry).
 */
export function assertCloseScaled(actual: Tensor | null | undefined, expected: FT, what: string, tol = 1e-4): void {
  let scale = 0;
  for (const v of expected.data) scale = Math.max(scale, Math.abs(v));
  assertClose(actual, expected, `${what} (max |value| ${scale.toPrecision(3)})`, tol * Math.max(scale, 1e-6), 0);
}
