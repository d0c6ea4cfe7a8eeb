// Neural-network functions: softmax, layer norm, embedding, dropout, linear.

import { emptyFloat32, zerosFloat32 } from "../tensor/memory.js";
import { defaultGenerator, type Generator } from "../tensor/random.js";
import { formatShape, normalizeDim, shapesEqual, sizeOf } from "../tensor/shape.js";
import { Tensor } from "../tensor/tensor.js";
import { permute } from "./shape.js";
import { asFloat, assertFloat, assertInt, backend } from "./util.js";

/** Apply a last-dim row kernel to any dim by moving that dim last (and back). */
function rowwise(x: Tensor, dim: number, op: string, fwd: (x: Float32Array, rows: number, cols: number, out: Float32Array) => void,
  bwd: (y: Float32Array, dy: Float32Array, rows: number, cols: number, dx: Float32Array) => void): Tensor {
  const d = normalizeDim(op, dim, x.ndim);
  const last = x.ndim - 1;
  if (d !== last && x.ndim > 0) {
    const perm = [...x.shape.keys()];
    perm[d] = last;
    perm[last] = d;
    return permute(rowwise(permute(x, perm), -1, op, fwd, bwd), perm);
  }
  const xf = asFloat(x);
  const cols = x.ndim === 0 ? 1 : x.shape[last];
  const rows = cols === 0 ? 0 : xf.numel / cols;
  const out = emptyFloat32(xf.numel);
  fwd(xf.data as Float32Array, rows, cols, out);
  return Tensor.fromOp(op, out, xf.shape, [xf], (g) => {
    const dx = emptyFloat32(out.length);
    bwd(out, g.data as Float32Array, rows, cols, dx);
    return [new Tensor(dx, xf.shape)];
  });
}

export function softmax(x: Tensor, dim = -1): Tensor {
  const b = backend();
  return rowwise(x, dim, "softmax", (a, r, c, o) => b.softmax(a, r, c, o), (y, dy, r, c, dx) => b.softmaxBackward(y, dy, r, c, dx));
}

export function logSoftmax(x: Tensor, dim = -1): Tensor {
  const b = backend();
  return rowwise(x, dim, "logSoftmax", (a, r, c, o) => b.logSoftmax(a, r, c, o), (y, dy, r, c, dx) => b.logSoftmaxBackward(y, dy, r, c, dx));
}

/** Layer normalisation over the trailing dims normalizedShape (Ba, Kiros & Hinton 2016). */
export function layerNorm(x: Tensor, normalizedShape: number | number[], weight?: Tensor | null, bias?: Tensor | null,
  eps = 1e-5): Tensor {
  assertFloat("layerNorm", x);
  const ns = typeof normalizedShape === "number" ? [normalizedShape] : normalizedShape;
  const tail = x.shape.slice(x.ndim - ns.length);
  if (ns.length > x.ndim || !shapesEqual(tail, ns)) {
    throw new RangeError(`layerNorm: input ${formatShape(x.shape)} does not end with normalized shape ${formatShape(ns)}`);
  }
  for (const [name, p] of [["weight", weight], ["bias", bias]] as const) {
    if (p && !shapesEqual(p.shape, ns)) {
      throw new RangeError(`layerNorm: ${name} has shape ${formatShape(p.shape)}, expected ${formatShape(ns)}`);
    }
  }
  const cols = sizeOf(ns), rows = cols === 0 ? 0 : x.numel / cols;
  const out = emptyFloat32(x.numel), mean = emptyFloat32(rows), rstd = emptyFloat32(rows); // all written
  const w = weight ? (weight.data as Float32Array) : null, bb = bias ? (bias.data as Float32Array) : null;
  backend().layerNorm(x.data as Float32Array, w, bb, rows, cols, eps, out, mean, rstd);
  const inputs = [x, ...(weight ? [weight] : []), ...(bias ? [bias] : [])];
  return Tensor.fromOp("layerNorm", out, x.shape, inputs, (g, pending) => {
    const dx = emptyFloat32(x.numel);
    const dw = weight ? new Float32Array(cols) : null, db = bias ? new Float32Array(cols) : null;
    // a pre-norm block's input is also its residual: that gradient, already in, is added as dx is written
    const summed = pending.take(0);
    backend().layerNormBackward(x.data as Float32Array, w, mean, rstd, g.data as Float32Array, rows, cols, dx, dw, db,
      summed ? (summed.data as Float32Array) : null);
    const grads: (Tensor | null)[] = [new Tensor(dx, x.shape)];
    if (weight) grads.push(Tensor.freshGrad(dw!, ns));
    if (bias) grads.push(Tensor.freshGrad(db!, ns));
    return grads;
  });
}

/** Look up rows of weight [V, C] for int32 ids of any shape: [...] -> [..., C]. */
export function embedding(ids: Tensor, weight: Tensor): Tensor {
  assertInt("embedding", ids, "ids");
  if (weight.ndim !== 2) throw new RangeError(`embedding: weight must be [numEmbeddings, dim], got ${formatShape(weight.shape)}`);
  const [V, C] = weight.shape;
  const idx = ids.data as Int32Array;
  for (let i = 0; i < idx.length; i++) {
    const t = idx[i];
    if (t < 0 || t >= V) throw new RangeError(`embedding: id ${t} at position ${i} is out of range for ${V} embeddings`);
  }
  const out = emptyFloat32(idx.length * C); // every row is copied in
  if (C > 0) backend().embedding(weight.data as Float32Array, idx, C, out);
  return Tensor.fromOp("embedding", out, [...ids.shape, C], [weight], (g) => {
    const dw = zerosFloat32(V * C);
    if (C > 0) backend().embeddingBackward(g.data as Float32Array, idx, C, dw); // repeated ids add up
    return [Tensor.freshGrad(dw, weight.shape)];
  });
}

/** Inverted dropout: zero with probability p, scale survivors by 1/(1-p); identity when not training. */
export function dropout(x: Tensor, p = 0.5, training = true, generator: Generator = defaultGenerator): Tensor {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`dropout: p must be in [0, 1], got ${p}`);
  if (!training || p === 0) return x;
  const xf = asFloat(x);
  const scale = p === 1 ? 0 : 1 / (1 - p);
  const mask = generator.dropoutMask(xf.numel, 1 - p, scale);
  const out = emptyFloat32(xf.numel);
  const shape = xf.shape as number[];
  backend().binary("mul", xf.data as Float32Array, shape, mask, shape, out, shape);
  return Tensor.fromOp("dropout", out, xf.shape, [xf], (g) => {
    const dx = emptyFloat32(out.length);
    backend().binary("mul", asFloat(g).data as Float32Array, shape, mask, shape, dx, shape);
    return [new Tensor(dx, xf.shape)];
  });
}

/**
 * y = x W^T + b with W [out, in] (PyTorch's layout), as one op: the GEMM reads W transposed
 * in place and starts from the bias rows (beta = 1), so no transpose and no separate add.
 */
export interface LinearOptions {
  /** W stored [in, out] (GPT-2's Conv1D): y = x W + b. */
  weightInOut?: boolean;
  /**
   * A tensor of the output's shape added to it: y = x W^T + b + residual, the residual
   * connection around a sublayer fused into its last projection (the GEMM starts each output
   * tile from it, so the sum is written once and no separate add runs).
   */
  residual?: Tensor | null;
}

export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null, options: LinearOptions = {}): Tensor {
  assertFloat("linear", x);
  // weightInOut: W stored [in, out] (GPT-2's Conv1D), y = x W + b
  const inOut = options.weightInOut ?? false;
  if (weight.ndim !== 2) throw new RangeError(`linear: weight must be ${inOut ? "[in, out]" : "[out, in]"}, got ${formatShape(weight.shape)}`);
  const [outF, inF] = inOut ? [weight.shape[1], weight.shape[0]] : weight.shape;
  if (x.ndim === 0 || x.shape[x.ndim - 1] !== inF) {
    throw new RangeError(`linear: input ${formatShape(x.shape)} has ${x.shape[x.ndim - 1]} features, weight ${formatShape(weight.shape)} expects ${inF}`);
  }
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== outF)) {
    throw new RangeError(`linear: bias must be [${outF}], got ${formatShape(bias.shape)}`);
  }
  const rows = inF === 0 ? 0 : x.numel / inF;
  const outShape = [...x.shape.slice(0, -1), outF];
  const residual = options.residual ?? null;
  if (residual) {
    assertFloat("linear", residual, "residual");
    if (!shapesEqual(residual.shape, outShape)) {
      throw new RangeError(`linear: residual must have the output's shape ${formatShape(outShape)}, got ${formatShape(residual.shape)}`);
    }
  }
  const out = emptyFloat32(rows * outF); // the GEMM writes all of it (beta 0)
  const xd = x.data as Float32Array, wd = weight.data as Float32Array;
  const gemm = (transA: boolean, transB: boolean, m: number, n: number, k: number, a: Float32Array, lda: number,
    b: Float32Array, ldb: number, c: Float32Array, ldc: number, addRow: Float32Array | null = null,
    addend: Float32Array | null = null): void =>
    backend().gemm({ transA, transB, m, n, k, alpha: 1, a, aOffset: 0, lda, strideA: 0, b, bOffset: 0, ldb, strideB: 0,
      beta: 0, c, cOffset: 0, ldc, strideC: 0, batch: 1, bias: addRow, addend });
  const ldw = inOut ? outF : inF;
  // [rows, in] @ W^T (or @ W), + b added to each row (+ the residual) as the GEMM stores its tiles
  gemm(false, !inOut, rows, outF, inF, xd, inF, wd, ldw, out, outF, bias ? (bias.data as Float32Array) : null,
    residual ? (residual.data as Float32Array) : null);
  const inputs = bias ? [x, weight, bias] : [x, weight];
  if (residual) inputs.push(residual);
  return Tensor.fromOp("linear", out, outShape, inputs, (g, pending) => {
    const gd = g.data as Float32Array;
    const grads: (Tensor | null)[] = [null, null, null];
    if (x.requiresGrad) {
      const dx = emptyFloat32(x.numel);
      // dX = G W (or G W^T), + the gradient x's other consumers summed already (a post-norm
      // block's input is also its residual), added by the GEMM as it stores dX
      const summed = pending.take(0);
      gemm(false, inOut, rows, inF, outF, gd, outF, wd, ldw, dx, inF, null, summed ? (summed.data as Float32Array) : null);
      grads[0] = new Tensor(dx, x.shape);
    }
    if (weight.requiresGrad) {
      const dw = emptyFloat32(weight.numel);
      if (inOut) gemm(true, false, inF, outF, rows, xd, inF, gd, outF, dw, outF); // dW = X^T G
      else gemm(true, false, outF, inF, rows, gd, outF, xd, inF, dw, inF); // dW = G^T X
      grads[1] = Tensor.freshGrad(dw, weight.shape);
    }
    if (bias && bias.requiresGrad) {
      const db = new Float32Array(outF);
      backend().reduce("sum", gd, 1, rows, outF, db); // db = column sums of G
      grads[2] = Tensor.freshGrad(db, bias.shape);
    }
    const out = bias ? grads : grads.slice(0, 2);
    if (residual) out.push(g); // d(y)/d(residual) = identity: the gradient passes through as it is
    return out;
  });
}
