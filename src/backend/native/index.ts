// The `native` backend: the js backend with its hot kernels replaced by the C++ addon's
// (SGEMM, fused row-wise kernels, flash attention, AdamW, GELU & co.). Registered as "native";
// when the addon cannot load, the factory returns null and the js backend serves.

import type { AttentionArgs, AttentionBackwardArgs, Backend, BinaryOp, Data, F32, GemmArgs, UnaryOp } from "../backend.js";
import { registerBackend } from "../backend.js";
import { jsBackend } from "../js/index.js";
import { NATIVE_BINARY_CODES, NATIVE_UNARY_CODES, type NativeAddon, addonLoadError, loadAddon } from "./addon.js";

export { addonLoadError, loadAddon } from "./addon.js";
export type { NativeAddon, NativeIsa } from "./addon.js";

const unaryCodes: Partial<Record<UnaryOp, number>> = NATIVE_UNARY_CODES;
const binaryCodes: Partial<Record<BinaryOp, number>> = NATIVE_BINARY_CODES;

function isF32(x: Data): x is F32 {
  return x instanceof Float32Array;
}

/** b's non-one dims, right-aligned to out, form a trailing block equal to out's trailing dims (bias-add layout). */
function isSuffix(bShape: number[], outShape: number[]): boolean {
  const pad = outShape.length - bShape.length;
  if (pad < 0) return false;
  let i = 0;
  while (i < bShape.length && bShape[i] === 1) i++;
  for (let j = i; j < bShape.length; j++) if (bShape[j] !== outShape[pad + j]) return false;
  return true;
}

/**
 * Size of the trailing block along which b is broadcast when b, right-aligned to out, is ones,
 * then a run of out's own dims, then ones ([C, 1, 1] against [B, C, H, W]: inner H*W, and b
 * repeats every C rows); else 0.
 */
function rowBroadcastInner(bShape: number[], outShape: number[]): number {
  const pad = outShape.length - bShape.length;
  if (pad < 0) return 0;
  let end = bShape.length;
  while (end > 0 && bShape[end - 1] === 1) end--;
  let start = 0;
  while (start < end && bShape[start] === 1) start++;
  for (let i = start; i < end; i++) if (bShape[i] !== outShape[pad + i]) return 0;
  let inner = 1;
  for (let i = pad + end; i < outShape.length; i++) inner *= outShape[i];
  return inner;
}

/** The base backend with the kernels the addon implements replaced; null when the addon does not load. */
export function createNativeBackend(base: Backend, addon: NativeAddon | null = loadAddon()): Backend | null {
  if (!addon) return null;
  const A = addon;
  return {
    ...base,
    name: "native",

    gemm(g: GemmArgs): void {
      A.gemm(g.transA, g.transB, g.m, g.n, g.k, g.alpha, g.a, g.aOffset, g.lda, g.strideA,
        g.b, g.bOffset, g.ldb, g.strideB, g.beta, g.c, g.cOffset, g.ldc, g.strideC, g.batch, g.bias ?? null, g.addend ?? null);
    },

    unary(op: UnaryOp, x: F32, out: F32): void {
      const code = unaryCodes[op];
      if (code === undefined) return base.unary(op, x, out);
      A.unary(code, x, out);
    },

    unaryBackward(op: UnaryOp, x: F32, y: F32, dy: F32, dx: F32): void {
      const code = unaryCodes[op];
      if (code === undefined) return base.unaryBackward(op, x, y, dy, dx);
      A.unaryBackward(code, x, y, dy, dx);
    },

    binary(op: BinaryOp, a: Data, aShape: number[], b: Data, bShape: number[], out: Data, outShape: number[]): void {
      const code = binaryCodes[op];
      const n = out.length;
      if (code === undefined || !isF32(a) || !isF32(b) || !isF32(out) || a.length !== n || b.length === 0 || n < 256) {
        return base.binary(op, a, aShape, b, bShape, out, outShape);
      }
      if (b.length === n) return A.binary(code, a, b, out, 0, 1);
      if (b.length === 1) return A.binary(code, a, b, out, 1, n);
      if (n % b.length === 0 && isSuffix(bShape, outShape)) return A.binary(code, a, b, out, 0, 1);
      const inner = rowBroadcastInner(bShape, outShape);
      if (inner > 0 && n % (inner * b.length) === 0) return A.binary(code, a, b, out, 1, inner);
      return base.binary(op, a, aShape, b, bShape, out, outShape);
    },

    reduce(op: "sum" | "max" | "min", x: F32, outer: number, size: number, inner: number, out: F32): void {
      if (op !== "sum") return base.reduce(op, x, outer, size, inner, out);
      A.reduceSum(x, outer, size, inner, out);
    },

    softmax: (x, rows, cols, out) => A.softmax(x, rows, cols, out),
    softmaxBackward: (y, dy, rows, cols, dx) => A.softmaxBackward(y, dy, rows, cols, dx),
    logSoftmax: (x, rows, cols, out) => A.logSoftmax(x, rows, cols, out),
    logSoftmaxBackward: (y, dy, rows, cols, dx) => A.logSoftmaxBackward(y, dy, rows, cols, dx),
    layerNorm: (x, gamma, beta, rows, cols, eps, out, mean, rstd) =>
      A.layerNorm(x, gamma, beta, rows, cols, eps, out, mean, rstd),
    layerNormBackward: (x, gamma, mean, rstd, dy, rows, cols, dx, dgamma, dbeta, dxAddend) =>
      A.layerNormBackward(x, gamma, mean, rstd, dy, rows, cols, dx, dgamma, dbeta, dxAddend ?? null),
    crossEntropy: (logits, targets, rows, cols, ignoreIndex, labelSmoothing, loss, dlogits, gradScale) =>
      A.crossEntropy(logits, targets, rows, cols, ignoreIndex, labelSmoothing, loss, dlogits, gradScale),
    adamw: (param, grad, m, v, lr, beta1, beta2, eps, weightDecay, step) =>
      A.adamw(param, grad, m, v, lr, beta1, beta2, eps, weightDecay, step),

    embedding: (weight, ids, cols, out) => A.embedding(weight, ids, cols, out),
    embeddingBackward: (grad, ids, cols, dweight) => A.embeddingBackward(grad, ids, cols, dweight),

    im2col(x, xOffset, channels, spatial, kernel, stride, padding, dilation, outSpatial, cols): void {
      if (spatial.length < 1 || spatial.length > 3) {
        return base.im2col(x, xOffset, channels, spatial, kernel, stride, padding, dilation, outSpatial, cols);
      }
      A.im2col(x, xOffset, channels, spatial, kernel, stride, padding, dilation, outSpatial, cols);
    },

    col2im(cols, channels, spatial, kernel, stride, padding, dilation, outSpatial, dx, dxOffset): void {
      if (spatial.length < 1 || spatial.length > 3) {
        return base.col2im(cols, channels, spatial, kernel, stride, padding, dilation, outSpatial, dx, dxOffset);
      }
      A.col2im(cols, channels, spatial, kernel, stride, padding, dilation, outSpatial, dx, dxOffset);
    },

    attention(a: AttentionArgs): void {
      A.attention(a.q, a.k, a.v, a.bh, a.tq, a.tk, a.d, a.dv, a.scale, a.causal, a.mask,
        a.maskBatch, a.maskHeadDiv, a.out, a.lse, a.heads ?? 0, a.ldq ?? 0, a.ldk ?? 0, a.ldv ?? 0);
    },

    attentionBackward(a: AttentionBackwardArgs): void {
      A.attentionBackward(a.q, a.k, a.v, a.bh, a.tq, a.tk, a.d, a.dv, a.scale, a.causal, a.mask,
        a.maskBatch, a.maskHeadDiv, a.out, a.lse, a.gradOut, a.gradQ, a.gradK, a.gradV, a.heads ?? 0,
        a.ldq ?? 0, a.ldk ?? 0, a.ldv ?? 0);
    },
  };
}

let cached: Backend | null | undefined;
let warned = false;

function nativeFactory(): Backend | null {
  if (cached !== undefined) return cached;
  cached = createNativeBackend(jsBackend);
  if (!cached && !warned) {
    warned = true;
    const chosen = typeof process !== "undefined" ? process.env?.TSFORMER_BACKEND : undefined;
    if (chosen !== "js" && typeof process !== "undefined" && process.stderr) {
      process.stderr.write(`tsformer: native backend unavailable (${addonLoadError() ?? "unknown reason"}); ` +
        "the js backend serves.\n");
    }
  }
  return cached;
}

registerBackend("native", () => nativeFactory());
