// Gradient clipping by global norm (Pascanu et al. 2013), like torch.nn.utils.clip_grad_norm_.

import type { Parameter } from "../../nn/module.js";

/** Scale all gradients in place so their joint L2 norm is at most maxNorm; returns the norm before. */
export function clipGradNorm(params: Iterable<Parameter>, maxNorm: number): number {
  const list = [...params].filter((p) => p.grad);
  let sq = 0;
  for (const p of list) {
    const g = p.grad!.data;
    for (let i = 0; i < g.length; i++) sq += g[i] * g[i];
  }
  const norm = Math.sqrt(sq);
  const coef = maxNorm / (norm + 1e-6);
  if (coef < 1) {
    for (const p of list) {
      const g = p.grad!.data;
      for (let i = 0; i < g.length; i++) g[i] *= coef;
    }
  }
  return norm;
}
