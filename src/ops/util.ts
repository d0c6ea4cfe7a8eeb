// Helpers every op file shares: argument checks, scalar lifting, and reducing a broadcast
// gradient back to the shape of the input it flowed from.

import { getBackend } from "../backend/backend.js";
import { formatShape, padShape, shapesEqual, sizeOf } from "../tensor/shape.js";
import { Tensor } from "../tensor/tensor.js";

export const backend = getBackend;

export function isTensor(x: unknown): x is Tensor {
  return x instanceof Tensor;
}

/** Numbers become 0-d tensors; tensors pass through. */
export function lift(x: Tensor | number, dtype: "float32" | "int32" = "float32"): Tensor {
  if (x instanceof Tensor) return x;
  if (typeof x !== "number") throw new TypeError(`expected a Tensor or a number, got ${typeof x}`);
  const arr = dtype === "int32" && Number.isInteger(x) ? new Int32Array([x]) : new Float32Array([x]);
  return new Tensor(arr, []);
}

export function assertTensor(op: string, name: string, x: unknown): Tensor {
  if (!(x instanceof Tensor)) throw new TypeError(`${op}: ${name} must be a Tensor, got ${x === null ? "null" : typeof x}`);
  return x;
}

/** Float data of a tensor (int32 converted), for kernels that compute in float32. */
export function floatData(t: Tensor): Float32Array {
  return t.data instanceof Float32Array ? t.data : Float32Array.from(t.data);
}

export function asFloat(t: Tensor): Tensor {
  return t.dtype === "float32" ? t : new Tensor(Float32Array.from(t.data), t.shape);
}

export function assertFloat(op: string, t: Tensor, name = "input"): void {
  if (t.dtype !== "float32") throw new TypeError(`${op}: ${name} must be float32, got ${t.dtype}`);
}

export function assertInt(op: string, t: Tensor, name = "indices"): void {
  if (t.dtype !== "int32") throw new TypeError(`${op}: ${name} must be int32, got ${t.dtype}`);
}

export function assertRank(op: string, t: Tensor, rank: number | number[], name = "input"): void {
  const ok = typeof rank === "number" ? t.ndim === rank : rank.includes(t.ndim);
  if (!ok) {
    throw new RangeError(`${op}: ${name} must have rank ${Array.isArray(rank) ? rank.join(" or ") : rank}, got shape ${formatShape(t.shape)}`);
  }
}

/** Sum a gradient of a broadcast result down to `shape` (the inverse of broadcasting). */
export function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  if (shapesEqual(g.shape, shape)) return g;
  const padded = padShape(shape, g.ndim);
  const gs = g.shape;
  // Common case (bias gradients): shape is a suffix of g's shape, so sum the leading rows.
  let lead = 0;
  while (lead < padded.length && padded[lead] === 1) lead++;
  if (padded.slice(lead).every((d, i) => d === gs[lead + i])) {
    const inner = sizeOf(shape), size = g.numel / Math.max(inner, 1);
    const out = new Float32Array(inner);
    backend().reduce("sum", g.data as Float32Array, 1, size, inner, out);
    return new Tensor(out, shape);
  }
  // Per-channel parameters ([C, 1, 1] against [B, C, H, W]): shape is ones, a run of g's dims,
  // then ones. Sum the trailing block away, then the leading one: two middle-axis reductions.
  let end = padded.length;
  while (end > lead && padded[end - 1] === 1) end--;
  if (g.numel > 0 && padded.slice(lead, end).every((d, i) => d === gs[lead + i])) {
    const mid = sizeOf(shape), inner = gs.slice(end).reduce((p, q) => p * q, 1), outer = g.numel / (mid * inner);
    const rows = new Float32Array(outer * mid);
    backend().reduce("sum", g.data as Float32Array, outer * mid, inner, 1, rows);
    const out = new Float32Array(mid);
    backend().reduce("sum", rows, 1, outer, mid, out);
    return new Tensor(out, shape);
  }
  // Split g into [outer..] dims: iterate and accumulate with broadcast index mapping.
  const out = new Float32Array(sizeOf(shape));
  const rank = gs.length;
  const tStrides = new Array<number>(rank);
  let acc = 1;
  for (let i = rank - 1; i >= 0; i--) {
    tStrides[i] = padded[i] === 1 ? 0 : acc;
    acc *= padded[i];
  }
  const gd = g.data;
  const idx = new Array<number>(rank).fill(0);
  let o = 0;
  const last = rank - 1;
  const inner = gs[last], sL = tStrides[last];
  for (let i = 0; i < gd.length; i += inner) {
    let p = o;
    for (let j = 0; j < inner; j++) {
      out[p] += gd[i + j];
      p += sL;
    }
    for (let d = last - 1; d >= 0; d--) {
      idx[d]++;
      o += tStrides[d];
      if (idx[d] < gs[d]) break;
      o -= tStrides[d] * gs[d];
      idx[d] = 0;
    }
  }
  return new Tensor(out, shape);
}
