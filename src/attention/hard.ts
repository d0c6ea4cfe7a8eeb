// Hard attention: attend to exactly one position. At inference the weights are one-hot at
// the best score; in training a straight-through Gumbel-softmax (Jang et al. 2017) samples a
// one-hot choice in the forward pass while gradients flow through the soft relaxation.

import { add, mul, sub } from "../ops/elementwise.js";
import { softmax } from "../ops/functional.js";
import { matmul } from "../ops/matmul.js";
import { argmax } from "../ops/reduce.js";
import { defaultGenerator, type Generator } from "../tensor/random.js";
import { Tensor } from "../tensor/tensor.js";
import { type AttentionResult, applyMask } from "./attend.js";

/** One-hot of the last-dim argmax: [..., T] -> [..., T] with a single 1 per row. */
export function oneHotArgmax(x: Tensor): Tensor {
  const T = x.shape[x.ndim - 1];
  const idx = argmax(x, -1);
  const out = new Float32Array(x.numel);
  for (let r = 0; r < idx.numel; r++) out[r * T + idx.data[r]] = 1;
  return new Tensor(out, x.shape);
}

/** Gumbel(0, 1) noise: -log(-log(U)). */
function gumbel(shape: number[], g: Generator): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = -Math.log(-Math.log(Math.min(Math.max(g.random(), 1e-12), 1 - 1e-7)));
  return new Tensor(out, shape);
}

/** y_hard - stopgrad(y_soft) + y_soft: the forward value is one-hot, the gradient is the soft one's. */
export function gumbelSoftmaxStraightThrough(scores: Tensor, temperature = 1, g: Generator = defaultGenerator): Tensor {
  const ySoft = softmax(mul(add(scores, gumbel(scores.shape, g)), 1 / temperature), -1);
  return add(sub(oneHotArgmax(ySoft), ySoft.detach()), ySoft);
}

export interface HardAttentionOptions {
  mask?: Tensor | null;
  /** Training uses the straight-through estimator; evaluation takes the argmax. */
  training?: boolean;
  temperature?: number;
  generator?: Generator;
}

/** Hard attention over given scores [..., Tq, Tk] and values [..., Tk, Dv]. */
export function hardAttention(scores: Tensor, values: Tensor, options: HardAttentionOptions = {}): AttentionResult {
  const masked = applyMask(scores, options.mask);
  const weights = options.training
    ? gumbelSoftmaxStraightThrough(masked, options.temperature ?? 1, options.generator)
    : oneHotArgmax(masked);
  return { output: matmul(weights, values), weights };
}

