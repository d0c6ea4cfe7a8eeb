// Attention rollout (Abnar & Zuidema 2020, "Quantifying Attention Flow in Transformers", §3).
//
// Raw attention in a deep layer mixes tokens that earlier layers already mixed, so it says
// little about the input. Rollout follows the mixing down: with residual connections a layer's
// output is half attention, half identity, so each layer's map is A' = 0.5 A + 0.5 I (rows
// renormalised), and the attention of the last layer to the input tokens is the product
// Ã = A'_L ... A'_2 A'_1. The heads are fused first (mean in the paper; max and min are common
// variants), and the lowest weights may be dropped to keep only the strong paths.

import { matmulT } from "../ops/matmul.js";
import { noGrad, Tensor } from "../tensor/tensor.js";
import { formatShape } from "../tensor/shape.js";
import type { AttentionRecord } from "./capture.js";

export type HeadFusion = "mean" | "max" | "min";

export interface RolloutOptions {
  /** How to combine the heads of a layer (default "mean"). */
  headFusion?: HeadFusion;
  /**
   * Fraction (0..1) of each fused map's smallest weights set to 0 before the identity is added
   * (default 0). The [CLS]-to-[CLS] entry (0, 0) is never dropped.
   */
  discardRatio?: number;
  /** Add the identity for the residual path (default true; false gives the plain product). */
  addResidual?: boolean;
}

function weightsOf(a: Tensor | AttentionRecord): Tensor {
  return a instanceof Tensor ? a : a.weights;
}

/** [B, H, Tq, Tk] -> [B, Tq, Tk] by mean, max or min over heads. */
export function fuseHeads(weights: Tensor, fusion: HeadFusion = "mean"): Tensor {
  if (weights.ndim !== 4) throw new RangeError(`fuseHeads: weights must be [B, H, Tq, Tk], got ${formatShape(weights.shape)}`);
  const [B, H, Tq, Tk] = weights.shape;
  const n = Tq * Tk, w = weights.data;
  const out = new Float32Array(B * n);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < n; i++) {
      let acc = fusion === "mean" ? 0 : w[b * H * n + i];
      for (let h = 0; h < H; h++) {
        const x = w[(b * H + h) * n + i];
        if (fusion === "mean") acc += x;
        else if (fusion === "max") acc = Math.max(acc, x);
        else if (fusion === "min") acc = Math.min(acc, x);
        else throw new RangeError(`fuseHeads: unknown head fusion "${String(fusion)}" (mean, max or min)`);
      }
      out[b * n + i] = fusion === "mean" ? acc / H : acc;
    }
  }
  return new Tensor(out, [B, Tq, Tk]);
}

/**
 * Rollout through the layers in order (first layer first). Each entry is a layer's weights
 * [B, H, T, T] (or its record). Returns [B, T, T]: row i is how much output token i draws on
 * each input token; row 0 is the [CLS] token's map for ViT and BERT.
 */
export function attentionRollout(layers: readonly (Tensor | AttentionRecord)[], options: RolloutOptions = {}): Tensor {
  if (layers.length === 0) throw new RangeError("attentionRollout: no attention layers (was anything recorded?)");
  const fusion = options.headFusion ?? "mean";
  const discard = options.discardRatio ?? 0;
  if (!(discard >= 0 && discard < 1)) throw new RangeError(`attentionRollout: discardRatio must be in [0, 1), got ${discard}`);
  const first = weightsOf(layers[0]);
  if (first.ndim !== 4) throw new RangeError(`attentionRollout: layer 0 weights must be [B, H, T, T], got ${formatShape(first.shape)}`);
  const [B, , T] = first.shape;
  const n = T * T;
  // result starts as the identity: before any layer each token is itself
  const eye = new Float32Array(B * n);
  for (let b = 0; b < B; b++) for (let i = 0; i < T; i++) eye[b * n + i * T + i] = 1;
  let result = new Tensor(eye, [B, T, T]);
  layers.forEach((layer, l) => {
    const w = weightsOf(layer);
    if (w.ndim !== 4 || w.shape[0] !== B || w.shape[2] !== T || w.shape[3] !== T) {
      throw new RangeError(`attentionRollout: layer ${l} weights ${formatShape(w.shape)} do not match [${B}, H, ${T}, ${T}] of layer 0 (rollout needs self-attention of one length)`);
    }
    const fused = fuseHeads(w, fusion).data as Float32Array;
    for (let b = 0; b < B; b++) {
      const a = fused.subarray(b * n, (b + 1) * n);
      if (discard > 0) dropLowest(a, discard);
      // A' = normalise_rows(A + I): the residual stream carries the token itself (§3)
      if (options.addResidual ?? true) for (let i = 0; i < T; i++) a[i * T + i] += 1;
      for (let i = 0; i < T; i++) {
        let s = 0;
        for (let j = 0; j < T; j++) s += a[i * T + j];
        if (s > 0) for (let j = 0; j < T; j++) a[i * T + j] /= s;
      }
    }
    result = noGrad(() => matmulT(new Tensor(fused, [B, T, T]), result, false, false)); // A' result, one batched GEMM
  });
  return result;
}

/** Zero the floor(ratio * n) smallest entries, never entry 0 ([CLS] to itself). */
function dropLowest(a: Float32Array, ratio: number): void {
  const k = Math.floor(ratio * a.length);
  if (k === 0) return;
  const order = Array.from(a.keys()).sort((x, y) => a[x] - a[y] || x - y);
  for (let i = 0; i < k; i++) if (order[i] !== 0) a[order[i]] = 0;
}
