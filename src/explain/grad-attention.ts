// Gradient-weighted attention (Chefer, Gur & Wolf 2021, "Generic Attention-model Explainability
// for Interpreting Bi-Modal and Encoder-Decoder Transformers", eq. 5-6).
//
// Raw attention says where a head looks, not whether that helps the predicted class. Weighting
// each weight by its gradient with respect to the class score y_c keeps the attention that
// raises y_c: Ā = E_h[(∇A ⊙ A)^+], the positive part averaged over heads (eq. 5). Accumulating
// it through the layers with the residual identity, R = I then R <- R + Ā R (eq. 6), gives one
// relevance map over the input tokens.

import { Module, Parameter } from "../nn/module.js";
import { formatShape } from "../tensor/shape.js";
import { add } from "../ops/elementwise.js";
import { matmulT } from "../ops/matmul.js";
import { Tensor, enableGrad, noGrad } from "../tensor/tensor.js";
import { recordAttention, type AttentionRecord } from "./capture.js";

export interface GradientAttentionOptions {
  /** Class index per batch row (or one for all rows); default: the predicted (argmax) class. */
  target?: number | number[];
}

export interface GradientAttention {
  /** The forward's logits [B, K] (detached). */
  logits: Tensor;
  /** The class explained, per batch row. */
  target: number[];
  /** The recorded attention with .grad filled (dy_c/dA), in call order. */
  attentions: AttentionRecord[];
  /** Per attention call: E_h[(∇A ⊙ A)^+], [B, Tq, Tk]. */
  maps: Tensor[];
  /**
   * R = I; R <- R + Ā R over the self-attention layers of the first layer's length (eq. 6),
   * [B, T, T]; row 0 is the [CLS] token's relevance. Null if the first call is not square.
   */
  relevance: Tensor | null;
}

/**
 * Explain one forward pass. forward returns logits [B, K] (or an object with .logits). The
 * model's parameter gradients are left as they were.
 */
export function gradientAttention(model: Module, forward: () => Tensor | { logits: Tensor }, options: GradientAttentionOptions = {}): GradientAttention {
  const params: Parameter[] = model.parameters();
  const saved = params.map((p) => p.grad);
  try {
    return enableGrad(() => {
      const { output, attentions } = recordAttention(model, forward, { keepGraph: true });
      const logits = output instanceof Tensor ? output : output.logits;
      if (logits.ndim !== 2) throw new RangeError(`gradientAttention: logits must be [B, K], got ${formatShape(logits.shape)}`);
      if (attentions.length === 0) throw new Error("gradientAttention: the forward made no attention call");
      const [B, K] = logits.shape;
      const target = resolveTargets(logits, options.target);
      // seed = one-hot of the target class: backward gives dy_c/dA for every recorded A
      const seed = new Float32Array(B * K);
      target.forEach((c, b) => (seed[b * K + c] = 1));
      for (const p of params) p.grad = null;
      for (const a of attentions) a.weights.grad = null;
      if (!logits.requiresGrad) throw new Error("gradientAttention: the logits do not depend on any parameter that requires grad");
      logits.backward(new Tensor(seed, [B, K]));
      const maps = attentions.map((a, i) => {
        if (!a.weights.grad) throw new Error(`gradientAttention: attention call ${i} (${a.module || "?"}) got no gradient: it does not reach the logits`);
        return positiveGradTimesAttention(a.weights, a.weights.grad);
      });
      return { logits: logits.detach(), target, attentions, maps, relevance: relevanceRollout(maps) };
    });
  } finally {
    params.forEach((p, i) => (p.grad = saved[i]));
  }
}

function resolveTargets(logits: Tensor, target: number | number[] | undefined): number[] {
  const [B, K] = logits.shape;
  const out: number[] = [];
  for (let b = 0; b < B; b++) {
    let c: number;
    if (target === undefined) {
      c = 0;
      for (let k = 1; k < K; k++) if (logits.data[b * K + k] > logits.data[b * K + c]) c = k;
    } else c = Array.isArray(target) ? target[b] : target;
    if (!Number.isInteger(c) || c < 0 || c >= K) throw new RangeError(`gradientAttention: target class ${c} for row ${b} is not in [0, ${K})`);
    out.push(c);
  }
  return out;
}

/** Eq. 5: E_h[(∇A ⊙ A)^+]; [B, H, Tq, Tk] twice -> [B, Tq, Tk]. */
export function positiveGradTimesAttention(weights: Tensor, grad: Tensor): Tensor {
  if (weights.ndim !== 4 || formatShape(weights.shape) !== formatShape(grad.shape)) {
    throw new RangeError(`positiveGradTimesAttention: weights ${formatShape(weights.shape)} and gradient ${formatShape(grad.shape)} must both be [B, H, Tq, Tk]`);
  }
  const [B, H, Tq, Tk] = weights.shape;
  const n = Tq * Tk;
  const out = new Float32Array(B * n);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const o = (b * H + h) * n;
      for (let i = 0; i < n; i++) {
        const x = weights.data[o + i] * grad.data[o + i];
        if (x > 0) out[b * n + i] += x / H;
      }
    }
  }
  return new Tensor(out, [B, Tq, Tk]);
}

/** Eq. 6: R = I, R <- R + Ā R for each square map of the first map's size, in order. */
export function relevanceRollout(maps: readonly Tensor[]): Tensor | null {
  if (maps.length === 0 || maps[0].shape[1] !== maps[0].shape[2]) return null;
  const [B, T] = maps[0].shape;
  const n = T * T;
  const eye = new Float32Array(B * n);
  for (let b = 0; b < B; b++) for (let i = 0; i < T; i++) eye[b * n + i * T + i] = 1;
  let R = new Tensor(eye, [B, T, T]);
  for (const m of maps) {
    if (m.shape[0] !== B || m.shape[1] !== T || m.shape[2] !== T) continue; // cross-attention or another stack
    R = noGrad(() => add(R, matmulT(m.detach(), R, false, false))); // one batched GEMM per layer
  }
  return R;
}
