// Splitting the model dimension into heads and merging them back (Vaswani et al. 2017, §3.2.2).

import { permute, reshape } from "../ops/shape.js";
import { formatShape } from "../tensor/shape.js";
import type { Tensor } from "../tensor/tensor.js";

/** [B, T, C] -> [B, H, T, C/H] */
export function splitHeads(x: Tensor, numHeads: number): Tensor {
  const [B, T, C] = x.shape;
  if (x.ndim !== 3 || C % numHeads !== 0) {
    throw new RangeError(`splitHeads: expected [B, T, C] with C divisible by ${numHeads} heads, got ${formatShape(x.shape)}`);
  }
  return permute(reshape(x, [B, T, numHeads, C / numHeads]), [0, 2, 1, 3]);
}

/** [B, H, T, D] -> [B, T, H*D] */
export function mergeHeads(x: Tensor): Tensor {
  const [B, H, T, D] = x.shape;
  return reshape(permute(x, [0, 2, 1, 3]), [B, T, H * D]);
}
