// Adam (Kingma & Ba 2015) with L2 weight decay, and AdamW (Loshchilov & Hutter 2019) with
// decoupled weight decay; both use the backend's fused update.

import { getBackend } from "../../backend/backend.js";
import { type Params, Optimizer } from "./optimizer.js";

export interface AdamOptions {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
}

abstract class AdamBase extends Optimizer<AdamOptions> {
  protected abstract decoupled: boolean;

  step(): void {
    const be = getBackend();
    for (const { params, options: o } of this.paramGroups) {
      for (const p of params) {
        if (!p.grad) continue;
        const s = this.stateOf(p);
        if (!s.expAvg) {
          s.expAvg = new Float32Array(p.numel);
          s.expAvgSq = new Float32Array(p.numel);
          s.step = 0;
        }
        s.step = (s.step as number) + 1;
        let g = p.grad.data as Float32Array;
        if (!this.decoupled && o.weightDecay !== 0) {
          // Adam's weight decay is an L2 term added to the gradient
          const w = p.data as Float32Array;
          const gg = new Float32Array(g.length);
          for (let i = 0; i < g.length; i++) gg[i] = g[i] + o.weightDecay * w[i];
          g = gg;
        }
        be.adamw(p.data as Float32Array, g, s.expAvg as Float32Array, s.expAvgSq as Float32Array, o.lr, o.betas[0], o.betas[1],
          o.eps, this.decoupled ? o.weightDecay : 0, s.step as number);
      }
    }
  }
}

export class Adam extends AdamBase {
  protected decoupled = false;
  constructor(params: Params<AdamOptions>, options: Partial<AdamOptions> = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, ...options });
  }
}

export class AdamW extends AdamBase {
  protected decoupled = true;
  constructor(params: Params<AdamOptions>, options: Partial<AdamOptions> = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, ...options });
  }
}
