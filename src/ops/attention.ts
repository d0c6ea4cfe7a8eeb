// Fused scaled dot-product attention: softmax(Q K^T * scale + mask) V through the backend's
// kernel, which never stores the [Tq, Tk] weight matrix (it saves the row log-sum-exp and
// recomputes the weights in backward). src/attention/ builds the readable five-step version.

import { formatShape } from "../tensor/shape.js";
import { Tensor } from "../tensor/tensor.js";
import { broadcastRaw } from "./elementwise.js";
import { assertFloat, backend } from "./util.js";

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
  const m = options.mask ? additiveMask(options.mask, B, H, Tq, Tk) : null;
  const bh = B * H;
  const out = new Float32Array(bh * Tq * Dv), lse = new Float32Array(bh * Tq);
  const args = {
    q: q.data as Float32Array, k: k.data as Float32Array, v: v.data as Float32Array,
    bh, tq: Tq, tk: Tk, d: D, dv: Dv, scale, causal: options.causal ?? false,
    mask: m ? m.data : null, maskBatch: m ? m.batch : 1, maskHeadDiv: m ? m.headDiv : 1,
    out, lse,
  };
  backend().attention(args);
  return Tensor.fromOp("scaledDotProductAttention", out, [B, H, Tq, Dv], [q, k, v], (g) => {
    const dq = new Float32Array(q.numel), dk = new Float32Array(k.numel), dv = new Float32Array(v.numel);
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
  const [B, Tq, C] = q.shape;
  const Tk = k.shape[1];
  const H = numHeads, D = C / H, Dv = v.shape[2] / H;
  if (k.shape[0] !== B || k.shape[2] !== C) {
    throw new RangeError(`multiHeadAttention: k ${formatShape(k.shape)} does not match q ${formatShape(q.shape)}`);
  }
  if (v.shape[0] !== B || v.shape[1] !== Tk) {
    throw new RangeError(`multiHeadAttention: v ${formatShape(v.shape)} does not match k ${formatShape(k.shape)} (key/value lengths ${Tk} vs ${v.shape[1]})`);
  }
  const scale = options.scale ?? 1 / Math.sqrt(D);
  const m = options.mask ? additiveMask(options.mask, B, H, Tq, Tk) : null;
  const bh = B * H;
  const out = new Float32Array(B * Tq * H * Dv), lse = new Float32Array(bh * Tq);
  const args = {
    q: q.data as Float32Array, k: k.data as Float32Array, v: v.data as Float32Array,
    bh, tq: Tq, tk: Tk, d: D, dv: Dv, heads: H, scale, causal: options.causal ?? false,
    mask: m ? m.data : null, maskBatch: m ? m.batch : 1, maskHeadDiv: m ? m.headDiv : 1,
    out, lse,
  };
  backend().attention(args);
  return Tensor.fromOp("multiHeadAttention", out, [B, Tq, H * Dv], [q, k, v], (g) => {
    const dq = new Float32Array(q.numel), dk = new Float32Array(k.numel), dv = new Float32Array(v.numel);
    backend().attentionBackward({ ...args, gradOut: g.data as Float32Array, gradQ: dq, gradK: dk, gradV: dv });
    return [new Tensor(dq, q.shape), new Tensor(dk, k.shape), new Tensor(dv, v.shape)];
  });
}
