// Metrics computed from predictions and targets.

import { argmax } from "../ops/reduce.js";
import { formatShape } from "../tensor/shape.js";
import type { Tensor } from "../tensor/tensor.js";

/** Fraction of rows whose argmax over the last dim equals the int32 target. */
export function accuracy(logits: Tensor, targets: Tensor): number {
  const pred = argmax(logits, -1);
  if (pred.numel !== targets.numel) {
    throw new RangeError(`accuracy: ${pred.numel} predictions from ${formatShape(logits.shape)} but ${targets.numel} targets`);
  }
  let ok = 0;
  for (let i = 0; i < pred.numel; i++) if (pred.data[i] === targets.data[i]) ok++;
  return pred.numel === 0 ? 0 : ok / pred.numel;
}
