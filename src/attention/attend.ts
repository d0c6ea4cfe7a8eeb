// Attention as the five steps the material teaches (Vaswani et al. 2017, eq. 1):
//   1. scores  = Q K^T        (or any score function)
//   2. scale   by 1/sqrt(d_k)
//   3. mask    masked scores = -inf
//   4. softmax over the keys  -> attention weights
//   5. weighted sum of values -> output
// Every attention form here returns { output, weights } through this one interface.

import { observeAttention, scaledDotProductAttention } from "../ops/attention.js";
import { mul } from "../ops/elementwise.js";
import { softmax } from "../ops/functional.js";
import { matmul } from "../ops/matmul.js";
import { broadcastShapes, formatShape } from "../tensor/shape.js";
import type { Tensor } from "../tensor/tensor.js";
import { causalMask } from "./masks.js";

export interface AttentionResult {
  /** [..., Tq, Dv] */
  output: Tensor;
  /** [..., Tq, Tk]; null when the fused kernel ran without weights. */
  weights: Tensor | null;
}

export interface AttendOptions {
  /** int32 (nonzero = may attend) or additive float mask, broadcastable to the scores. */
  mask?: Tensor | null;
  /** Return the weights (the five explicit steps) instead of the fused kernel. */
  returnWeights?: boolean;
  /** Defaults to 1/sqrt(d_k). */
  scale?: number;
  causal?: boolean;
}

/** Step 3: masked positions get -inf (an additive float mask is added instead). */
export function applyMask(scores: Tensor, mask: Tensor | null | undefined): Tensor {
  if (!mask) return scores;
  try {
    broadcastShapes("mask", scores.shape, mask.shape);
  } catch {
    throw new RangeError(`attention: mask ${formatShape(mask.shape)} does not broadcast to the scores ${formatShape(scores.shape)}`);
  }
  if (mask.dtype === "float32") return scores.add(mask);
  return scores.maskedFill(mask.eq(0), -Infinity);
}

/** Steps 3-5 given raw scores [..., Tq, Tk] and values [..., Tk, Dv]. */
export function attendWithScores(scores: Tensor, values: Tensor, mask?: Tensor | null): AttentionResult {
  const tk = scores.shape[scores.ndim - 1];
  if (values.shape[values.ndim - 2] !== tk) {
    throw new RangeError(`attention: ${tk} keys but values ${formatShape(values.shape)} hold ${values.shape[values.ndim - 2]} positions`);
  }
  const weights = softmax(applyMask(scores, mask), -1); // step 4
  observeAttention(weights); // explain/ records them when asked (no cost otherwise)
  return { output: matmul(weights, values), weights }; // step 5
}

/**
 * Scaled dot-product attention. q [..., Tq, D], k [..., Tk, D], v [..., Tk, Dv].
 * Without returnWeights and with 4-D inputs it runs the backend's fused kernel (O(T) memory).
 */
export function scaledDotProduct(q: Tensor, k: Tensor, v: Tensor, options: AttendOptions = {}): AttentionResult {
  const d = q.shape[q.ndim - 1];
  if (k.shape[k.ndim - 1] !== d) {
    throw new RangeError(`attention: queries ${formatShape(q.shape)} and keys ${formatShape(k.shape)} differ in size`);
  }
  if (k.shape[k.ndim - 2] !== v.shape[v.ndim - 2]) {
    throw new RangeError(`attention: key/value length mismatch: keys ${formatShape(k.shape)}, values ${formatShape(v.shape)}`);
  }
  const scale = options.scale ?? 1 / Math.sqrt(d);
  if (!options.returnWeights && q.ndim === 4 && k.ndim === 4 && v.ndim === 4) {
    return { output: scaledDotProductAttention(q, k, v, { mask: options.mask, causal: options.causal, scale }), weights: null };
  }
  const scores = mul(matmul(q, k, { transB: true }), scale); // steps 1-2
  const causal = options.causal ? causalMask(q.shape[q.ndim - 2], k.shape[k.ndim - 2]) : null;
  return attendWithScores(applyMask(scores, causal), v, options.mask); // step 3 twice: causal, then the given mask
}
