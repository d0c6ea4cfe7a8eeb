// Fused scaled dot-product attention: softmax(Q K^T * scale + mask) V through the backend's
// kernel, which never stores the [Tq, Tk] weight matrix (it saves the row log-sum-exp and
// recomputes the weights in backward). src/attention/ builds the readable five-step version.

import { emptyFloat32, zerosFloat32 } from "../tensor/memory.js";
import { formatShape } from "../tensor/shape.js";
import { Tensor } from "../tensor/tensor.js";
import { add, broadcastRaw, mul } from "./elementwise.js";
import { softmax } from "./functional.js";
import { matmulT } from "./matmul.js";
import { narrow, permute, reshape } from "./shape.js";
import { assertFloat, backend } from "./util.js";

/**
 * Receives the attention weights [B, H, Tq, Tk] of every attention call while set; src/explain
 * sets it to record them. Null (the default) keeps the fused kernels, which never form the weights.
 */
export type AttentionObserver = (weights: Tensor, op: "scaledDotProductAttention" | "multiHeadAttention") => void;
let attentionObserver: AttentionObserver | null = null;

/** Install (or with null remove) the observer; returns the previous one so callers can nest. */
export function setAttentionObserver(fn: AttentionObserver | null): AttentionObserver | null {
  const prev = attentionObserver;
  attentionObserver = fn;
  return prev;
}

/** Whether an observer is recording attention weights (a model may then skip shortcuts that leave rows of them out). */
export function isRecordingAttention(): boolean {
  return attentionObserver !== null;
}

/**
 * Hand weights formed explicitly elsewhere (src/attention's five steps, which models with their
 * own score terms, like T5's relative position bias, go through) to the observer, if one is set.
 * [B, H, Tq, Tk] as they are; [B, Tq, Tk] and [Tq, Tk] get the missing axes.
 */
export function observeAttention(weights: Tensor): void {
  if (!attentionObserver) return;
  const s = weights.shape;
  if (s.length === 4) attentionObserver(weights, "scaledDotProductAttention");
  else if (s.length === 3) attentionObserver(reshape(weights, [s[0], 1, s[1], s[2]]), "scaledDotProductAttention");
  else if (s.length === 2) attentionObserver(reshape(weights, [1, 1, s[0], s[1]]), "scaledDotProductAttention");
}

export interface SdpaOptions {
  /** Boolean-like (int32, nonzero = may attend) or additive float mask, broadcastable to [B, H, Tq, Tk]. */
  mask?: Tensor | null;
  /** Causal mask: query i sees keys j <= i + (Tk - Tq). */
  causal?: boolean;
  /** Defaults to 1/sqrt(D). */
  scale?: number;
}

/** q [B, H, Tq, D], k [B, H, Tk, D], v [B, H, Tk, Dv] -> [B, H, Tq, Dv]. */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, options: SdpaOptions = {}): Tensor {
  for (const [n, t] of [["q", q], ["k", k], ["v", v]] as const) {
    assertFloat("scaledDotProductAttention", t, n);
    if (t.ndim !== 4) throw new RangeError(`scaledDotProductAttention: ${n} must be [B, H, T, D], got ${formatShape(t.shape)}`);
  }
  const [B, H, Tq, D] = q.shape;
  const Tk = k.shape[2], Dv = v.shape[3];
  if (k.shape[0] !== B || k.shape[1] !== H || k.shape[3] !== D) {
    throw new RangeError(`scaledDotProductAttention: k ${formatShape(k.shape)} does not match q ${formatShape(q.shape)}`);
  }
  if (v.shape[0] !== B || v.shape[1] !== H || v.shape[2] !== Tk) {
    throw new RangeError(`scaledDotProductAttention: v ${formatShape(v.shape)} does not match k ${formatShape(k.shape)} (key/value lengths ${Tk} vs ${v.shape[2]})`);
  }
  const scale = options.scale ?? 1 / Math.sqrt(D);
  if (attentionObserver) return observedAttention(q, k, v, scale, options, "scaledDotProductAttention");
  const m = options.mask ? additiveMask(options.mask, B, H, Tq, Tk) : null;
  const bh = B * H;
  const out = emptyFloat32(bh * Tq * Dv), lse = emptyFloat32(bh * Tq);
  const args = {
    q: q.data as Float32Array, k: k.data as Float32Array, v: v.data as Float32Array,
    bh, tq: Tq, tk: Tk, d: D, dv: Dv, scale, causal: options.causal ?? false,
    mask: m ? m.data : null, maskBatch: m ? m.batch : 1, maskHeadDiv: m ? m.headDiv : 1,
    out, lse,
  };
  backend().attention(args);
  return Tensor.fromOp("scaledDotProductAttention", out, [B, H, Tq, Dv], [q, k, v], (g) => {
    const dq = emptyFloat32(q.numel), dk = emptyFloat32(k.numel), dv = emptyFloat32(v.numel);
    backend().attentionBackward({ ...args, gradOut: g.data as Float32Array, gradQ: dq, gradK: dk, gradV: dv });
    return [new Tensor(dq, q.shape), new Tensor(dk, k.shape), new Tensor(dv, v.shape)];
  });
}

/** Turn a mask into additive form laid out as [maskBatch, Tq, Tk] plus the head mapping. */
function additiveMask(mask: Tensor, B: number, H: number, Tq: number, Tk: number):
  { data: Float32Array; batch: number; headDiv: number } {
  const s = [...new Array<number>(Math.max(0, 4 - mask.ndim)).fill(1), ...mask.shape];
  if (s.length !== 4 || (s[0] !== 1 && s[0] !== B) || (s[1] !== 1 && s[1] !== H) || (s[2] !== 1 && s[2] !== Tq) || (s[3] !== 1 && s[3] !== Tk)) {
    throw new RangeError(`scaledDotProductAttention: mask ${formatShape(mask.shape)} does not broadcast to [B, H, Tq, Tk] = ${formatShape([B, H, Tq, Tk])}`);
  }
  const toAdditive = (x: Tensor): Float32Array => {
    if (x.dtype === "int32") return Float32Array.from(x.data, (b) => (b !== 0 ? 0 : -Infinity));
    return x.data as Float32Array;
  };
  // choose the smallest layout: [1|B|B*H, Tq, Tk]
  let batch: number, headDiv: number, shape: number[];
  if (s[1] === 1) {
    batch = s[0];
    headDiv = H;
    shape = [s[0], 1, Tq, Tk];
  } else {
    batch = B * H;
    headDiv = 1;
    shape = [B, H, Tq, Tk];
  }
  const full = broadcastRaw(new Tensor(toAdditive(mask), s), shape);
  return { data: full.data as Float32Array, batch, headDiv };
}

/**
 * Multi-head attention on the layout the projections produce, with no permute:
 * q [B, Tq, H*D], k [B, Tk, H*D], v [B, Tk, H*Dv] -> [B, Tq, H*Dv]. Head h uses columns
 * h*D..(h+1)*D. Same masks and scale as scaledDotProductAttention.
 */
export function multiHeadAttentionFused(q: Tensor, k: Tensor, v: Tensor, numHeads: number, options: SdpaOptions = {}): Tensor {
  for (const [n, t] of [["q", q], ["k", k], ["v", v]] as const) {
    assertFloat("multiHeadAttention", t, n);
    if (t.ndim !== 3) throw new RangeError(`multiHeadAttention: ${n} must be [B, T, C], got ${formatShape(t.shape)}`);
    if (t.shape[2] % numHeads !== 0) {
      throw new RangeError(`multiHeadAttention: ${n} ${formatShape(t.shape)} has ${t.shape[2]} features, not divisible by ${numHeads} heads`);
    }
  }
  const [B, , C] = q.shape;
  const Tk = k.shape[1];
  if (k.shape[0] !== B || k.shape[2] !== C) {
    throw new RangeError(`multiHeadAttention: k ${formatShape(k.shape)} does not match q ${formatShape(q.shape)}`);
  }
  if (v.shape[0] !== B || v.shape[1] !== Tk) {
    throw new RangeError(`multiHeadAttention: v ${formatShape(v.shape)} does not match k ${formatShape(k.shape)} (key/value lengths ${Tk} vs ${v.shape[1]})`);
  }
  return attendColumns("multiHeadAttention", { t: q, col: 0, width: C }, { t: k, col: 0, width: C },
    { t: v, col: 0, width: v.shape[2] }, numHeads, options);
}

/**
 * Self-attention straight from a fused projection: qkv [B, T, 3C] holds q, k and v side by side
 * in each row (GPT-2's c_attn, timm's qkv) -> [B, T, C]. The kernels read the three with a row
 * stride of 3C, and the gradient comes back as one [B, T, 3C] array, so nothing is split or
 * concatenated. Same result as splitting qkv into three and calling multiHeadAttentionFused.
 */
export function multiHeadAttentionPacked(qkv: Tensor, numHeads: number, options: SdpaOptions = {}): Tensor {
  assertFloat("multiHeadAttentionPacked", qkv, "qkv");
  if (qkv.ndim !== 3 || qkv.shape[2] % (3 * numHeads) !== 0) {
    throw new RangeError(`multiHeadAttentionPacked: qkv must be [B, T, 3C] with C divisible by ${numHeads} heads, got ${formatShape(qkv.shape)}`);
  }
  const C = qkv.shape[2] / 3;
  return attendColumns("multiHeadAttentionPacked", { t: qkv, col: 0, width: C }, { t: qkv, col: C, width: C },
    { t: qkv, col: 2 * C, width: C }, numHeads, options);
}

/**
 * Attention with keys and values from one fused projection (cross-attention: the memory is
 * projected to [k | v] by one GEMM): q [B, Tq, C], kv [B, Tk, 2C] -> [B, Tq, C]. Same result
 * as splitting kv into two and calling multiHeadAttentionFused.
 */
export function multiHeadAttentionPackedKV(q: Tensor, kv: Tensor, numHeads: number, options: SdpaOptions = {}): Tensor {
  assertFloat("multiHeadAttentionPackedKV", q, "q");
  assertFloat("multiHeadAttentionPackedKV", kv, "kv");
  if (q.ndim !== 3 || q.shape[2] % numHeads !== 0) {
    throw new RangeError(`multiHeadAttentionPackedKV: q must be [B, Tq, C] with C divisible by ${numHeads} heads, got ${formatShape(q.shape)}`);
  }
  const C = q.shape[2];
  if (kv.ndim !== 3 || kv.shape[0] !== q.shape[0] || kv.shape[2] !== 2 * C) {
    throw new RangeError(`multiHeadAttentionPackedKV: kv must be [B, Tk, 2C] = [${q.shape[0]}, Tk, ${2 * C}] for q ${formatShape(q.shape)}, got ${formatShape(kv.shape)}`);
  }
  return attendColumns("multiHeadAttentionPackedKV", { t: q, col: 0, width: C }, { t: kv, col: 0, width: C },
    { t: kv, col: C, width: C }, numHeads, options);
}

/** Columns [col, col + width) of every row of a [B, T, X] tensor: q, k or v, maybe inside a packed projection. */
interface Columns { t: Tensor; col: number; width: number }

/**
 * The fused kernels on q, k and v read in place from their tensors' rows (row stride: the
 * tensor's last dim). The gradient of each distinct input tensor comes back as one array, its
 * q/k/v column ranges written by the kernel.
 */
function attendColumns(op: string, q: Columns, k: Columns, v: Columns, numHeads: number, options: SdpaOptions): Tensor {
  const [B, Tq] = q.t.shape;
  const Tk = k.t.shape[1];
  const H = numHeads, D = q.width / H, Dv = v.width / H;
  if (attentionObserver) {
    const part = (c: Columns) => (c.width === c.t.shape[2] ? c.t : narrow(c.t, 2, c.col, c.width));
    // [B, T, H*D] -> [B, H, T, D], attend with the weights formed, and back to [B, Tq, H*Dv]
    const heads = (x: Tensor, T: number, d: number) => permute(reshape(x, [B, T, H, d]), [0, 2, 1, 3]);
    const o = observedAttention(heads(part(q), Tq, D), heads(part(k), Tk, D), heads(part(v), Tk, Dv),
      options.scale ?? 1 / Math.sqrt(D), options, "multiHeadAttention");
    return reshape(permute(o, [0, 2, 1, 3]), [B, Tq, H * Dv]);
  }
  const m = options.mask ? additiveMask(options.mask, B, H, Tq, Tk) : null;
  const view = (a: Float32Array, c: Columns): Float32Array => (c.col === 0 ? a : a.subarray(c.col));
  const out = emptyFloat32(B * Tq * H * Dv), lse = emptyFloat32(B * H * Tq);
  const args = {
    q: view(q.t.data as Float32Array, q), k: view(k.t.data as Float32Array, k), v: view(v.t.data as Float32Array, v),
    ldq: q.t.shape[2], ldk: k.t.shape[2], ldv: v.t.shape[2],
    bh: B * H, tq: Tq, tk: Tk, d: D, dv: Dv, heads: H, scale: options.scale ?? 1 / Math.sqrt(D), causal: options.causal ?? false,
    mask: m ? m.data : null, maskBatch: m ? m.batch : 1, maskHeadDiv: m ? m.headDiv : 1,
    out, lse,
  };
  backend().attention(args);
  const inputs = [...new Set([q.t, k.t, v.t])];
  return Tensor.fromOp(op, out, [B, Tq, H * Dv], inputs, (g) => {
    // one gradient array per input tensor; the kernel fills every column range it reads
    const covered = (t: Tensor) => [q, k, v].filter((c) => c.t === t).reduce((n, c) => n + c.width, 0) === t.shape[2];
    const grads = inputs.map((t) => (covered(t) ? emptyFloat32(t.numel) : zerosFloat32(t.numel)));
    const gradOf = (c: Columns) => view(grads[inputs.indexOf(c.t)], c);
    backend().attentionBackward({ ...args, gradOut: g.data as Float32Array, gradQ: gradOf(q), gradK: gradOf(k), gradV: gradOf(v) });
    return inputs.map((t, i) => new Tensor(grads[i], t.shape));
  });
}

/**
 * The five steps with the weights as a tensor in the graph (so explain/ can take their gradient):
 * A = softmax(Q K^T * scale + mask), out = A V. q, k [B, H, T, D], v [B, H, Tk, Dv].
 */
function observedAttention(q: Tensor, k: Tensor, v: Tensor, scale: number, options: SdpaOptions,
  op: "scaledDotProductAttention" | "multiHeadAttention"): Tensor {
  const [B, H, Tq] = q.shape;
  const Tk = k.shape[2];
  let scores = mul(matmulT(q, k, false, true), scale); // [B, H, Tq, Tk]
  let rowValid: Tensor | null = null;
  if (options.mask || options.causal) {
    // one additive [B, H, Tq, Tk] mask; -inf becomes -1e30 and fully masked rows get weight 0,
    // as in the fused kernels (a row of -inf would make softmax NaN)
    const add4 = options.mask ? additiveMask(options.mask, B, H, Tq, Tk) : null;
    const full = new Float32Array(B * H * Tq * Tk);
    const valid = new Float32Array(B * H * Tq);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        const bh = b * H + h;
        const src = add4 ? (add4.batch === 1 ? 0 : add4.headDiv === 1 ? bh : b) * Tq * Tk : -1;
        for (let i = 0; i < Tq; i++) {
          let any = false;
          for (let j = 0; j < Tk; j++) {
            let m = src >= 0 ? add4!.data[src + i * Tk + j] : 0;
            if (options.causal && j > i + (Tk - Tq)) m = -Infinity;
            if (m !== -Infinity) any = true;
            full[(bh * Tq + i) * Tk + j] = Math.max(m, -1e30);
          }
          valid[bh * Tq + i] = any ? 1 : 0;
        }
      }
    }
    scores = add(scores, new Tensor(full, [B, H, Tq, Tk]));
    rowValid = new Tensor(valid, [B, H, Tq, 1]);
  }
  let weights = softmax(scores, -1);
  if (rowValid) weights = mul(weights, rowValid);
  attentionObserver!(weights, op);
  return matmulT(weights, v, false, false); // [B, H, Tq, Dv]
}
