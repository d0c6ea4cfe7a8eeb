// Stochastic gradient descent with momentum, Nesterov momentum and (L2) weight decay,
// following torch.optim.SGD's update exactly.

import { type Params, Optimizer } from "./optimizer.js";

export interface SGDOptions {
  lr: number;
  momentum: number;
  dampening: number;
  nesterov: boolean;
  weightDecay: number;
}

export class SGD extends Optimizer<SGDOptions> {
  constructor(params: Params<SGDOptions>, options: Partial<SGDOptions> & { lr: number }) {
    const o: SGDOptions = { momentum: 0, dampening: 0, nesterov: false, weightDecay: 0, ...options };
    if (o.nesterov && (o.momentum <= 0 || o.dampening !== 0)) {
      throw new RangeError("SGD: Nesterov momentum needs momentum > 0 and dampening 0");
    }
    super(params, o);
  }

  step(): void {
    for (const { params, options: o } of this.paramGroups) {
      for (const p of params) {
        if (!p.grad) continue;
        const w = p.data as Float32Array, g = p.grad.data as Float32Array;
        const d = new Float32Array(g.length);
        for (let i = 0; i < g.length; i++) d[i] = g[i] + o.weightDecay * w[i];
        if (o.momentum !== 0) {
          const s = this.stateOf(p);
          let buf = s.momentumBuffer as Float32Array | undefined;
          if (!buf) {
            buf = d.slice();
            s.momentumBuffer = buf;
          } else {
            for (let i = 0; i < g.length; i++) buf[i] = o.momentum * buf[i] + (1 - o.dampening) * d[i];
          }
          if (o.nesterov) for (let i = 0; i < g.length; i++) d[i] += o.momentum * buf[i];
          else d.set(buf);
        }
        for (let i = 0; i < w.length; i++) w[i] -= o.lr * d[i];
      }
    }
  }
}
