// Reductions along any dims with keepdim: sum, mean, max/min (+ arg), var, logsumexp.

import { normalizeDims, sizeOf } from "../tensor/shape.js";
import { Tensor } from "../tensor/tensor.js";
import { broadcastRaw, exp, log, sub, add, mul, div } from "./elementwise.js";
import { permute, reshape } from "./shape.js";
import { asFloat, backend } from "./util.js";

function keptShape(shape: number[], dims: number[], keepdim: boolean): number[] {
  const out: number[] = [];
  shape.forEach((d, i) => {
    if (dims.includes(i)) {
      if (keepdim) out.push(1);
    } else out.push(d);
  });
  return out;
}

/** Raw sum over sorted dims, result with keepdim shape. */
function sumRaw(x: Float32Array, shape: number[], dims: number[]): { data: Float32Array; shape: number[] } {
  let data = x;
  let cur = [...shape];
  // reduce one contiguous run at a time, from the last run backwards
  let i = dims.length - 1;
  while (i >= 0) {
    let j = i;
    while (j > 0 && dims[j - 1] === dims[j] - 1) j--;
    const lo = dims[j], hi = dims[i];
    const outer = sizeOf(cur.slice(0, lo));
    const size = sizeOf(cur.slice(lo, hi + 1));
    const inner = sizeOf(cur.slice(hi + 1));
    const out = new Float32Array(outer * inner);
    backend().reduce("sum", data, outer, size, inner, out);
    data = out;
    cur = [...cur.slice(0, lo), ...new Array<number>(hi - lo + 1).fill(1), ...cur.slice(hi + 1)];
    i = j - 1;
  }
  return { data, shape: cur };
}

export function sum(x: Tensor, dims?: number | number[], keepdim = false): Tensor {
  const xf = asFloat(x);
  const ds = normalizeDims("sum", dims, x.ndim);
  const r = sumRaw(xf.data as Float32Array, xf.shape, ds);
  const outShape = keptShape(xf.shape, ds, keepdim);
  return Tensor.fromOp("sum", r.data, outShape, [xf], (g) => [broadcastRaw(new Tensor(g.data, r.shape), xf.shape)]);
}

export function mean(x: Tensor, dims?: number | number[], keepdim = false): Tensor {
  const ds = normalizeDims("mean", dims, x.ndim);
  const count = ds.reduce((n, d) => n * x.shape[d], 1);
  return div(sum(x, ds, keepdim), count);
}

/** Move the reduced dims last and flatten them: [kept..., reduced] as [K, R]. */
function toRows(x: Tensor, ds: number[]): { rows: Float32Array; K: number; R: number } {
  const keep = [...x.shape.keys()].filter((d) => !ds.includes(d));
  const perm = [...keep, ...ds];
  const isIdentity = perm.every((p, i) => p === i);
  const xf = asFloat(x);
  const data = isIdentity ? (xf.data as Float32Array) : (permute(xf.detach(), perm).data as Float32Array);
  const R = ds.reduce((n, d) => n * x.shape[d], 1);
  return { rows: data, K: data.length / Math.max(R, 1), R };
}

function extremum(op: "max" | "min", x: Tensor, dims: number | number[] | undefined, keepdim: boolean): Tensor {
  if (x.numel === 0) throw new RangeError(`${op}: cannot reduce an empty tensor`);
  const ds = normalizeDims(op, dims, x.ndim);
  const { rows, K, R } = toRows(x, ds);
  const idx = new Int32Array(K);
  backend().argReduce(op === "max" ? "argmax" : "argmin", rows, K, R, 1, idx);
  const out = new Float32Array(K);
  for (let i = 0; i < K; i++) out[i] = rows[i * R + idx[i]];
  const outShape = keptShape(x.shape, ds, keepdim);
  if (x.dtype === "int32") return new Tensor(Int32Array.from(out), outShape);
  return Tensor.fromOp(op, out, outShape, [x], (g) => {
    // gradient goes to the first position that attains the extremum
    const gr = new Float32Array(K * R);
    for (let i = 0; i < K; i++) gr[i * R + idx[i]] = g.data[i];
    const keep = [...x.shape.keys()].filter((d) => !ds.includes(d));
    const perm = [...keep, ...ds];
    const permShape = perm.map((p) => x.shape[p]);
    const inv = new Array<number>(perm.length);
    perm.forEach((p, i) => (inv[p] = i));
    return [permute(new Tensor(gr, permShape), inv)];
  });
}

export function max(x: Tensor, dims?: number | number[], keepdim = false): Tensor {
  return extremum("max", x, dims, keepdim);
}

export function min(x: Tensor, dims?: number | number[], keepdim = false): Tensor {
  return extremum("min", x, dims, keepdim);
}

function argExtremum(op: "argmax" | "argmin", x: Tensor, dim: number | undefined, keepdim: boolean): Tensor {
  if (dim === undefined) {
    const { rows } = toRows(x, [...x.shape.keys()]);
    const idx = new Int32Array(1);
    backend().argReduce(op, rows, 1, rows.length, 1, idx);
    return new Tensor(idx, keepdim ? x.shape.map(() => 1) : []);
  }
  const ds = normalizeDims(op, dim, x.ndim);
  const d = ds[0];
  const outer = sizeOf(x.shape.slice(0, d)), size = x.shape[d], inner = sizeOf(x.shape.slice(d + 1));
  const out = new Int32Array(outer * inner);
  backend().argReduce(op, asFloat(x).data as Float32Array, outer, size, inner, out);
  return new Tensor(out, keptShape(x.shape, ds, keepdim));
}

/** Index of the largest value along dim (over everything when dim is omitted). */
export function argmax(x: Tensor, dim?: number, keepdim = false): Tensor {
  return argExtremum("argmax", x, dim, keepdim);
}

export function argmin(x: Tensor, dim?: number, keepdim = false): Tensor {
  return argExtremum("argmin", x, dim, keepdim);
}

/** Variance with Bessel's correction by default (correction = 1), like torch.var. */
export function variance(x: Tensor, dims?: number | number[], keepdim = false, correction = 1): Tensor {
  const ds = normalizeDims("var", dims, x.ndim);
  const n = ds.reduce((c, d) => c * x.shape[d], 1);
  const centred = sub(x, mean(x, ds, true));
  return div(sum(mul(centred, centred), ds, keepdim), Math.max(n - correction, 0));
}

/** log(sum(exp(x))) along dims, computed stably. */
export function logsumexp(x: Tensor, dims?: number | number[], keepdim = false): Tensor {
  const ds = normalizeDims("logsumexp", dims, x.ndim);
  const m = max(x.detach(), ds, true);
  const safeM = new Tensor((m.data as Float32Array).map((v) => (Number.isFinite(v) ? v : 0)), m.shape);
  const s = log(sum(exp(sub(x, safeM)), ds, true));
  const out = add(s, safeM);
  return keepdim ? out : reshape(out, keptShape(x.shape, ds, false));
}
