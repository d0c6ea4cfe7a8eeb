// Shape ops: reshape, permute, expand, slicing, indexing, joining, padding, unfold.
// Reshape shares the input's values (tensors are never written in place); the rest copy.

import { allocate } from "../tensor/dtype.js";
import { emptyArray, emptyFloat32, zerosFloat32 } from "../tensor/memory.js";

type Data = Float32Array | Int32Array;

/** Copy n values; short runs by a loop (a subarray per run costs more than it saves). */
function copyRun(from: Data, fromAt: number, to: Data, toAt: number, n: number): void {
  if (n >= 64) to.set(from.subarray(fromAt, fromAt + n), toAt);
  else for (let j = 0; j < n; j++) to[toAt + j] = from[fromAt + j];
}
import { checkShape, formatShape, normalizeDim, shapesEqual, sizeOf } from "../tensor/shape.js";
import { Tensor } from "../tensor/tensor.js";
import { broadcastRaw } from "./elementwise.js";
import { assertInt, assertRank, backend, sumToShape } from "./util.js";

/** Same values, new shape; one dim may be -1 (inferred). */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const s = [...shape];
  const neg = s.indexOf(-1);
  if (neg >= 0) {
    if (s.indexOf(-1, neg + 1) >= 0) throw new RangeError(`reshape: only one dim can be -1, got ${formatShape(shape)}`);
    const rest = sizeOf(s.filter((_, i) => i !== neg));
    if (rest === 0 || x.numel % rest !== 0) {
      throw new RangeError(`reshape: cannot reshape ${formatShape(x.shape)} (${x.numel} elements) into ${formatShape(shape)}`);
    }
    s[neg] = x.numel / rest;
  }
  checkShape(s, "reshape: shape");
  if (sizeOf(s) !== x.numel) {
    throw new RangeError(`reshape: cannot reshape ${formatShape(x.shape)} (${x.numel} elements) into ${formatShape(shape)}`);
  }
  return Tensor.fromOp("reshape", x.data, s, [x], (g) => [new Tensor(g.data, x.shape)]);
}

export const view = reshape;

export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  if (x.ndim === 0) return reshape(x, [1]);
  const s = normalizeDim("flatten", startDim, x.ndim), e = normalizeDim("flatten", endDim, x.ndim);
  if (s > e) throw new RangeError(`flatten: startDim ${startDim} comes after endDim ${endDim}`);
  return reshape(x, [...x.shape.slice(0, s), sizeOf(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)]);
}

export function unsqueeze(x: Tensor, dim: number): Tensor {
  const d = normalizeDim("unsqueeze", dim, x.ndim + 1);
  return reshape(x, [...x.shape.slice(0, d), 1, ...x.shape.slice(d)]);
}

export function squeeze(x: Tensor, dim?: number): Tensor {
  if (dim === undefined) return reshape(x, x.shape.filter((d) => d !== 1));
  const d = normalizeDim("squeeze", dim, x.ndim);
  if (x.shape[d] !== 1) return x;
  return reshape(x, x.shape.filter((_, i) => i !== d));
}

export function permute(x: Tensor, dims: readonly number[]): Tensor {
  if (dims.length !== x.ndim) {
    throw new RangeError(`permute: got ${dims.length} dims ${formatShape(dims)} for a tensor of rank ${x.ndim}`);
  }
  const perm = dims.map((d) => normalizeDim("permute", d, x.ndim));
  if (new Set(perm).size !== perm.length) throw new RangeError(`permute: repeated dim in ${formatShape(dims)}`);
  if (perm.every((p, i) => p === i)) return x;
  const outShape = perm.map((p) => x.shape[p]);
  const out = allocate(x.dtype, x.numel);
  backend().permute(x.data, x.shape, perm, out);
  return Tensor.fromOp("permute", out, outShape, [x], (g) => {
    const inv = new Array<number>(perm.length);
    perm.forEach((p, i) => (inv[p] = i));
    const dx = emptyFloat32(g.numel); // the permute writes all of it
    backend().permute(g.data, outShape, inv, dx);
    return [new Tensor(dx, x.shape)];
  });
}

export function transpose(x: Tensor, dim0 = -2, dim1 = -1): Tensor {
  const a = normalizeDim("transpose", dim0, x.ndim), b = normalizeDim("transpose", dim1, x.ndim);
  const perm = [...x.shape.keys()];
  perm[a] = b;
  perm[b] = a;
  return permute(x, perm);
}

/** Broadcast to a larger shape (a copy here; -1 keeps a dim). */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  if (shape.length < x.ndim) throw new RangeError(`expand: target ${formatShape(shape)} has fewer dims than ${formatShape(x.shape)}`);
  const lead = shape.length - x.ndim;
  const s = shape.map((d, i) => {
    if (d !== -1) return d;
    if (i < lead) throw new RangeError(`expand: -1 is not allowed for the new leading dim ${i} of ${formatShape(shape)}`);
    return x.shape[i - lead];
  });
  for (let i = 0; i < x.ndim; i++) {
    const d = x.shape[i], t = s[i + s.length - x.ndim];
    if (d !== 1 && d !== t) {
      throw new RangeError(`expand: cannot expand ${formatShape(x.shape)} to ${formatShape(shape)} (dim ${i}: ${d} vs ${t})`);
    }
  }
  if (shapesEqual(s, x.shape)) return x;
  const r = broadcastRaw(x, s);
  return Tensor.fromOp("expand", r.data, s, [x], (g) => [sumToShape(g, x.shape)]);
}

/** Elements start..end (exclusive) with a step along dim; negative indices count from the end. */
export function slice(x: Tensor, dim: number, start = 0, end?: number, step = 1): Tensor {
  const d = normalizeDim("slice", dim, x.ndim);
  const n = x.shape[d];
  if (!Number.isInteger(step) || step <= 0) throw new RangeError(`slice: step must be a positive integer, got ${step}`);
  let s = start < 0 ? start + n : start;
  let e = end === undefined ? n : end < 0 ? end + n : end;
  s = Math.min(Math.max(s, 0), n);
  e = Math.min(Math.max(e, s), n);
  const len = Math.ceil((e - s) / step);
  const outer = sizeOf(x.shape.slice(0, d)), inner = sizeOf(x.shape.slice(d + 1));
  const outShape = [...x.shape];
  outShape[d] = len;
  const out = allocate(x.dtype, outer * len * inner);
  // With step 1 each outer index moves one contiguous run of len*inner values.
  const run = step === 1 ? len * inner : inner;
  const runs = step === 1 ? 1 : len;
  const copy = (from: Data, fromAt: number, to: Data, toAt: number): void => copyRun(from, fromAt, to, toAt, run);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < runs; i++) copy(x.data, (o * n + s + i * step) * inner, out, (o * len + i * (step === 1 ? 0 : 1)) * inner);
  }
  return Tensor.fromOp("slice", out, outShape, [x], (g) => {
    const dx = zerosFloat32(x.numel);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < runs; i++) copy(g.data, (o * len + i * (step === 1 ? 0 : 1)) * inner, dx, (o * n + s + i * step) * inner);
    }
    return [new Tensor(dx, x.shape)];
  });
}

/** length elements from start along dim (torch.narrow). */
export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  const d = normalizeDim("narrow", dim, x.ndim);
  const s = start < 0 ? start + x.shape[d] : start;
  if (s < 0 || length < 0 || s + length > x.shape[d]) {
    throw new RangeError(`narrow: start ${start} + length ${length} exceeds size ${x.shape[d]} of dim ${dim} in ${formatShape(x.shape)}`);
  }
  return slice(x, d, s, s + length);
}

function checkIndices(op: string, idx: Int32Array, n: number): void {
  for (let i = 0; i < idx.length; i++) {
    if (idx[i] < -n || idx[i] >= n) throw new RangeError(`${op}: index ${idx[i]} is out of range for a dim of size ${n}`);
  }
}

/** Pick entries along dim by a 1-D int32 index (torch.index_select). */
export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  assertInt("indexSelect", index, "index");
  assertRank("indexSelect", index, [0, 1], "index");
  const d = normalizeDim("indexSelect", dim, x.ndim);
  const n = x.shape[d];
  const idx = index.data as Int32Array;
  checkIndices("indexSelect", idx, n);
  const outer = sizeOf(x.shape.slice(0, d)), inner = sizeOf(x.shape.slice(d + 1));
  const m = idx.length;
  const outShape = [...x.shape];
  outShape[d] = m;
  const out = allocate(x.dtype, outer * m * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < m; i++) {
      const k = idx[i] < 0 ? idx[i] + n : idx[i];
      const src = (o * n + k) * inner;
      copyRun(x.data, src, out, (o * m + i) * inner, inner);
    }
  }
  return Tensor.fromOp("indexSelect", out, outShape, [x], (g) => {
    const dx = new Float32Array(x.numel);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < m; i++) {
        const k = idx[i] < 0 ? idx[i] + n : idx[i];
        const dst = (o * n + k) * inner, src = (o * m + i) * inner;
        for (let j = 0; j < inner; j++) dx[dst + j] += g.data[src + j];
      }
    }
    return [new Tensor(dx, x.shape)];
  });
}

/** Visit (flat position in index, flat position in target) for gather/scatter along dim. */
function alongDim(op: string, targetShape: number[], index: Tensor, dim: number,
  visit: (indexPos: number, targetPos: number) => void): void {
  const d = dim;
  const ishape = index.shape;
  if (ishape.length !== targetShape.length) {
    throw new RangeError(`${op}: index ${formatShape(ishape)} must have the same rank as the input ${formatShape(targetShape)}`);
  }
  for (let i = 0; i < ishape.length; i++) {
    if (i !== d && ishape[i] > targetShape[i]) {
      throw new RangeError(`${op}: index ${formatShape(ishape)} is larger than input ${formatShape(targetShape)} at dim ${i}`);
    }
  }
  const idx = index.data as Int32Array;
  const n = targetShape[d];
  const rank = ishape.length;
  const coord = new Array<number>(rank).fill(0);
  const tStrides = new Array<number>(rank);
  let acc = 1;
  for (let i = rank - 1; i >= 0; i--) {
    tStrides[i] = acc;
    acc *= targetShape[i];
  }
  for (let p = 0; p < idx.length; p++) {
    let k = idx[p];
    if (k < -n || k >= n) throw new RangeError(`${op}: index ${k} is out of range for dim ${dim} of size ${n}`);
    if (k < 0) k += n;
    let t = 0;
    for (let i = 0; i < rank; i++) t += (i === d ? k : coord[i]) * tStrides[i];
    visit(p, t);
    for (let i = rank - 1; i >= 0; i--) {
      if (++coord[i] < ishape[i]) break;
      coord[i] = 0;
    }
  }
}

/** out[..., i, ...] = x[..., index[..., i, ...], ...] along dim (torch.gather). */
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  assertInt("gather", index, "index");
  const d = normalizeDim("gather", dim, x.ndim);
  const out = allocate(x.dtype, index.numel);
  const targets = new Int32Array(index.numel);
  alongDim("gather", x.shape, index, d, (p, t) => {
    out[p] = x.data[t];
    targets[p] = t;
  });
  return Tensor.fromOp("gather", out, index.shape, [x], (g) => {
    const dx = new Float32Array(x.numel);
    for (let p = 0; p < targets.length; p++) dx[targets[p]] += g.data[p];
    return [new Tensor(dx, x.shape)];
  });
}

/** A copy of x with src added at the positions index names along dim (torch.scatter_add). */
export function scatterAdd(x: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  assertInt("scatterAdd", index, "index");
  const d = normalizeDim("scatterAdd", dim, x.ndim);
  if (!shapesEqual(index.shape, src.shape)) {
    throw new RangeError(`scatterAdd: index ${formatShape(index.shape)} and src ${formatShape(src.shape)} must have the same shape`);
  }
  const out = x.data.slice();
  const targets = new Int32Array(index.numel);
  alongDim("scatterAdd", x.shape, index, d, (p, t) => {
    out[t] += src.data[p];
    targets[p] = t;
  });
  return Tensor.fromOp("scatterAdd", out, x.shape, [x, src], (g) => {
    const ds = new Float32Array(src.numel);
    for (let p = 0; p < targets.length; p++) ds[p] = g.data[targets[p]];
    return [g, new Tensor(ds, src.shape)];
  });
}

/** Join tensors along an existing dim. */
export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new RangeError("cat: expected at least one tensor");
  const first = tensors[0];
  if (first.ndim === 0) throw new RangeError("cat: zero-dimensional tensors cannot be concatenated (use stack)");
  const d = normalizeDim("cat", dim, first.ndim);
  for (const t of tensors) {
    if (t.ndim !== first.ndim || t.shape.some((s, i) => i !== d && s !== first.shape[i])) {
      throw new RangeError(`cat: shapes ${formatShape(first.shape)} and ${formatShape(t.shape)} differ outside dim ${dim}`);
    }
    if (t.dtype !== first.dtype) throw new TypeError(`cat: dtypes differ (${first.dtype} and ${t.dtype})`);
  }
  const outer = sizeOf(first.shape.slice(0, d)), inner = sizeOf(first.shape.slice(d + 1));
  const total = tensors.reduce((n, t) => n + t.shape[d], 0);
  const outShape = [...first.shape];
  outShape[d] = total;
  const out = emptyArray(first.dtype, outer * total * inner); // the runs below cover it
  let off = 0;
  for (const t of tensors) {
    const chunk = t.shape[d] * inner;
    for (let o = 0; o < outer; o++) copyRun(t.data, o * chunk, out, o * total * inner + off, chunk);
    off += chunk;
  }
  return Tensor.fromOp("cat", out, outShape, tensors, (g) => {
    let start = 0;
    return tensors.map((t) => {
      const len = t.shape[d];
      const piece = t.requiresGrad ? sliceRaw(g, d, start, len) : null;
      start += len;
      return piece;
    });
  });
}

function sliceRaw(g: Tensor, d: number, start: number, len: number): Tensor {
  const outer = sizeOf(g.shape.slice(0, d)), inner = sizeOf(g.shape.slice(d + 1)), n = g.shape[d];
  const shape = [...g.shape];
  shape[d] = len;
  const out = emptyFloat32(outer * len * inner); // the runs below cover it
  for (let o = 0; o < outer; o++) {
    copyRun(g.data, (o * n + start) * inner, out, o * len * inner, len * inner);
  }
  return Tensor.freshGrad(out, shape); // one input's own piece (fusedLinear's weights take theirs as .grad)
}

/** Join tensors of one shape along a new dim. */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new RangeError("stack: expected at least one tensor");
  for (const t of tensors) {
    if (!shapesEqual(t.shape, tensors[0].shape)) {
      throw new RangeError(`stack: all tensors need one shape, got ${formatShape(tensors[0].shape)} and ${formatShape(t.shape)}`);
    }
  }
  const d = normalizeDim("stack", dim, tensors[0].ndim + 1);
  return cat(tensors.map((t) => unsqueeze(t, d)), d);
}

/** Split along dim into pieces of splitSize (the last may be smaller) or of the given sizes. */
export function split(x: Tensor, splitSize: number | number[], dim = 0): Tensor[] {
  const d = normalizeDim("split", dim, x.ndim);
  const n = x.shape[d];
  let sizes: number[];
  if (typeof splitSize === "number") {
    if (!(splitSize > 0)) throw new RangeError(`split: size must be positive, got ${splitSize}`);
    sizes = [];
    for (let s = 0; s < n; s += splitSize) sizes.push(Math.min(splitSize, n - s));
  } else {
    sizes = splitSize;
    const total = sizes.reduce((a, b) => a + b, 0);
    if (total !== n) throw new RangeError(`split: sizes ${formatShape(sizes)} sum to ${total}, but dim ${dim} has size ${n}`);
  }
  const out: Tensor[] = [];
  let start = 0;
  for (const s of sizes) {
    out.push(narrow(x, d, start, s));
    start += s;
  }
  return out;
}

/** Split into `chunks` nearly equal pieces (torch.chunk). */
export function chunk(x: Tensor, chunks: number, dim = 0): Tensor[] {
  const d = normalizeDim("chunk", dim, x.ndim);
  return split(x, Math.ceil(x.shape[d] / chunks), d);
}

/**
 * Constant padding, PyTorch's F.pad order: pads = [lastLeft, lastRight, prevLeft, prevRight, ...].
 */
export function pad(x: Tensor, pads: readonly number[], value = 0): Tensor {
  if (pads.length % 2 !== 0 || pads.length / 2 > x.ndim) {
    throw new RangeError(`pad: expected an even number of pads for at most ${x.ndim} dims, got ${formatShape(pads)}`);
  }
  const before = new Array<number>(x.ndim).fill(0), after = new Array<number>(x.ndim).fill(0);
  for (let i = 0; i < pads.length / 2; i++) {
    before[x.ndim - 1 - i] = pads[2 * i];
    after[x.ndim - 1 - i] = pads[2 * i + 1];
  }
  if ([...before, ...after].some((p) => !Number.isInteger(p) || p < 0)) {
    throw new RangeError(`pad: pads must be integers >= 0, got ${formatShape(pads)}`);
  }
  const outShape = x.shape.map((s, i) => s + before[i] + after[i]);
  const out = allocate(x.dtype, sizeOf(outShape));
  if (value !== 0) out.fill(value);
  const positions = placeRows(x.shape, outShape, before);
  const inner = x.shape[x.ndim - 1] ?? 1;
  for (let r = 0; r < positions.length; r++) copyRun(x.data, r * inner, out, positions[r], inner);
  return Tensor.fromOp("pad", out, outShape, [x], (g) => {
    const dx = new Float32Array(x.numel);
    for (let r = 0; r < positions.length; r++) copyRun(g.data, positions[r], dx, r * inner, inner);
    return [new Tensor(dx, x.shape)];
  });
}

/** Flat start position in the padded output of each innermost row of the input. */
function placeRows(shape: number[], outShape: number[], before: number[]): Int32Array {
  const rank = shape.length;
  if (rank === 0) return new Int32Array([0]);
  const rows = sizeOf(shape.slice(0, -1));
  const out = new Int32Array(rows);
  const oStrides = new Array<number>(rank);
  let acc = 1;
  for (let i = rank - 1; i >= 0; i--) {
    oStrides[i] = acc;
    acc *= outShape[i];
  }
  const coord = new Array<number>(rank - 1).fill(0);
  for (let r = 0; r < rows; r++) {
    let p = before[rank - 1];
    for (let i = 0; i < rank - 1; i++) p += (coord[i] + before[i]) * oStrides[i];
    out[r] = p;
    for (let i = rank - 2; i >= 0; i--) {
      if (++coord[i] < shape[i]) break;
      coord[i] = 0;
    }
  }
  return out;
}

export interface UnfoldOptions {
  stride?: number | number[];
  padding?: number | number[];
  dilation?: number | number[];
}

export function tupleOf(v: number | number[] | undefined, n: number, dflt: number, what: string): number[] {
  if (v === undefined) return new Array<number>(n).fill(dflt);
  if (typeof v === "number") return new Array<number>(n).fill(v);
  if (v.length !== n) throw new RangeError(`${what} needs ${n} values, got ${formatShape(v)}`);
  return [...v];
}

export function convOutputSize(op: string, spatial: number[], kernel: number[], stride: number[], padding: number[],
  dilation: number[]): number[] {
  return spatial.map((s, i) => {
    const o = Math.floor((s + 2 * padding[i] - dilation[i] * (kernel[i] - 1) - 1) / stride[i]) + 1;
    if (o <= 0) {
      throw new RangeError(`${op}: input size ${formatShape(spatial)} is too small for kernel ${formatShape(kernel)} with padding ${formatShape(padding)}`);
    }
    return o;
  });
}

/**
 * im2col as an op (torch.nn.functional.unfold, for any number of spatial dims):
 * [N, C, *spatial] -> [N, C * prod(kernel), L] where L is the number of sliding positions.
 */
export function unfold(x: Tensor, kernelSize: number | number[], options: UnfoldOptions = {}): Tensor {
  const nd = x.ndim - 2;
  if (nd < 1) throw new RangeError(`unfold: expected [N, C, ...spatial], got ${formatShape(x.shape)}`);
  const kernel = tupleOf(kernelSize, nd, 1, "unfold: kernelSize");
  const stride = tupleOf(options.stride, nd, 1, "unfold: stride");
  const padding = tupleOf(options.padding, nd, 0, "unfold: padding");
  const dilation = tupleOf(options.dilation, nd, 1, "unfold: dilation");
  const [N, C] = x.shape;
  const spatial = x.shape.slice(2);
  const outSpatial = convOutputSize("unfold", spatial, kernel, stride, padding, dilation);
  const rows = C * sizeOf(kernel), L = sizeOf(outSpatial), inSize = C * sizeOf(spatial);
  const out = emptyFloat32(N * rows * L); // im2col writes every element (padding as 0)
  const xd = x.data instanceof Float32Array ? x.data : Float32Array.from(x.data);
  for (let n = 0; n < N; n++) {
    backend().im2col(xd, n * inSize, C, spatial, kernel, stride, padding, dilation, outSpatial, out.subarray(n * rows * L, (n + 1) * rows * L));
  }
  return Tensor.fromOp("unfold", out, [N, rows, L], [x], (g) => {
    const dx = zerosFloat32(x.numel); // col2im adds overlapping patches into it
    for (let n = 0; n < N; n++) {
      backend().col2im(g.data.subarray(n * rows * L, (n + 1) * rows * L) as Float32Array, C, spatial, kernel, stride, padding, dilation, outSpatial, dx, n * inSize);
    }
    return [new Tensor(dx, x.shape)];
  });
}
