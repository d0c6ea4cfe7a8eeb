// Local attention (Luong, Pham & Manning 2015, §3.2): attend only to a window of 2D+1 source
// positions around an aligned position p_t. Local-m takes p_t = t (monotonic); local-p
// predicts it, p_t = S * sigmoid(v_p . tanh(W_p h_t)) (eq. 9), and favours positions near it
// with a Gaussian, a_t(s) = align(h_t, h_s) * exp(-(s - p_t)^2 / (2 sigma^2)), sigma = D/2 (eq. 10).

import { Linear } from "../nn/layers.js";
import { Module } from "../nn/module.js";
import { exp, mul, sigmoid, sub, tanh } from "../ops/elementwise.js";
import { softmax } from "../ops/functional.js";
import { matmul } from "../ops/matmul.js";
import { reshape } from "../ops/shape.js";
import { Tensor } from "../tensor/tensor.js";
import { type AttentionResult, applyMask } from "./attend.js";
import type { ScoreFunction } from "./scores.js";

export interface LocalAttentionOptions {
  /** Half-width D of the window. */
  window: number;
  /** "monotonic" (local-m: p_t = t) or "predictive" (local-p). */
  mode: "monotonic" | "predictive";
}

export class LocalAttention extends Module {
  Wp: Linear | null;
  vp: Linear | null;

  constructor(readonly scorer: ScoreFunction & Module, queryDim: number, readonly options: LocalAttentionOptions) {
    super();
    if (!(options.window >= 0)) throw new RangeError(`LocalAttention: window must be >= 0, got ${options.window}`);
    const predictive = options.mode === "predictive";
    this.Wp = predictive ? new Linear(queryDim, queryDim, { bias: false }) : null;
    this.vp = predictive ? new Linear(queryDim, 1, { bias: false }) : null;
  }

  /** The aligned source positions p_t: [B, Tq, 1]. */
  positions(query: Tensor, sourceLength: number): Tensor {
    const [B, Tq] = query.shape;
    if (!this.Wp || !this.vp) {
      const p = new Float32Array(B * Tq);
      for (let b = 0; b < B; b++) for (let t = 0; t < Tq; t++) p[b * Tq + t] = Math.min(t, sourceLength - 1);
      return new Tensor(p, [B, Tq, 1]);
    }
    return mul(sigmoid(this.vp.forward(tanh(this.Wp.forward(query)))), sourceLength); // eq. 9
  }

  /** query [B, Tq, Dq], keys [B, S, Dk], values [B, S, Dv] */
  forward(query: Tensor, keys: Tensor, values: Tensor, mask?: Tensor | null): AttentionResult & { positions: Tensor } {
    const [B, Tq] = query.shape, S = keys.shape[1];
    const D = this.options.window;
    const p = this.positions(query, S); // [B, Tq, 1]
    // the window: |s - p_t| <= D (a hard cut, not differentiated)
    const inWindow = new Int32Array(B * Tq * S);
    for (let i = 0; i < B * Tq; i++) {
      const c = p.data[i];
      for (let s = 0; s < S; s++) inWindow[i * S + s] = Math.abs(s - c) <= D ? 1 : 0;
    }
    let scores = applyMask(this.scorer.score(query, keys), new Tensor(inWindow, [B, Tq, S]));
    scores = applyMask(scores, mask);
    const align = softmax(scores, -1);
    const sVec = reshape(new Tensor(Float32Array.from({ length: S }, (_, s) => s), [S]), [1, 1, S]);
    const sigma = Math.max(D / 2, 1e-3);
    const dist = sub(sVec, p); // [B, Tq, S]
    const gauss = exp(mul(mul(dist, dist), -1 / (2 * sigma * sigma))); // eq. 10
    const weights = mul(align, gauss);
    return { output: matmul(weights, values), weights, positions: p };
  }
}

