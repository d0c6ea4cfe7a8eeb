// Reference optimizer update kernels.

import type { F32 } from "../backend.js";

/** AdamW (Loshchilov & Hutter 2019): decoupled weight decay, bias-corrected moments. */
export function adamw(param: F32, grad: F32, m: F32, v: F32, lr: number, beta1: number, beta2: number, eps: number,
  weightDecay: number, step: number): void {
  const bc1 = 1 - Math.pow(beta1, step);
  const bc2 = 1 - Math.pow(beta2, step);
  const stepSize = lr / bc1;
  const decay = 1 - lr * weightDecay;
  for (let i = 0; i < param.length; i++) {
    const g = grad[i];
    m[i] = beta1 * m[i] + (1 - beta1) * g;
    v[i] = beta2 * v[i] + (1 - beta2) * g * g;
    const denom = Math.sqrt(v[i] / bc2) + eps;
    param[i] = param[i] * decay - (stepSize * m[i]) / denom;
  }
}
