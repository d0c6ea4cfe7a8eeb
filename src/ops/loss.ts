// Losses: cross-entropy (fused with log-softmax), mean squared error, binary cross-entropy.

import { emptyFloat32 } from "../tensor/memory.js";
import { formatShape, shapesEqual } from "../tensor/shape.js";
import { Tensor } from "../tensor/tensor.js";
import { abs, add, clamp, exp, log, mul, neg, relu, sub } from "./elementwise.js";
import { mean, sum } from "./reduce.js";
import { permute, reshape } from "./shape.js";
import { assertFloat, assertInt, backend } from "./util.js";

export type Reduction = "mean" | "sum" | "none";

export interface CrossEntropyOptions {
  /** Target value whose positions are skipped (default -100, like PyTorch). */
  ignoreIndex?: number;
  /** Mix the one-hot target with the uniform distribution (Szegedy et al. 2016). */
  labelSmoothing?: number;
  reduction?: Reduction;
}

function applyReduction(x: Tensor, reduction: Reduction): Tensor {
  if (reduction === "mean") return mean(x);
  if (reduction === "sum") return sum(x);
  return x;
}

/**
 * Cross-entropy of logits [N, C] (or [N, C, d1...], class dim 1 like PyTorch) against int32
 * class targets [N] (or [N, d1...]). The mean is over the non-ignored targets.
 */
export function crossEntropy(logits: Tensor, targets: Tensor, options: CrossEntropyOptions = {}): Tensor {
  assertFloat("crossEntropy", logits, "logits");
  assertInt("crossEntropy", targets, "targets");
  const ignoreIndex = options.ignoreIndex ?? -100;
  const eps = options.labelSmoothing ?? 0;
  const reduction = options.reduction ?? "mean";
  if (!(eps >= 0 && eps <= 1)) throw new RangeError(`crossEntropy: labelSmoothing must be in [0, 1], got ${eps}`);
  let flat = logits;
  if (logits.ndim > 2) {
    // [N, C, d...] -> [N, d..., C]
    const perm = [0, ...Array.from({ length: logits.ndim - 2 }, (_, i) => i + 2), 1];
    flat = permute(logits, perm);
  }
  const C = logits.ndim === 1 ? logits.shape[0] : logits.shape[1];
  const expectedTargets = logits.ndim === 1 ? [] : [logits.shape[0], ...logits.shape.slice(2)];
  if (!shapesEqual(targets.shape, expectedTargets)) {
    throw new RangeError(
      `crossEntropy: targets ${formatShape(targets.shape)} do not match logits ${formatShape(logits.shape)} (expected targets ${formatShape(expectedTargets)})`,
    );
  }
  const rows = targets.numel;
  const t = targets.data as Int32Array;
  let valid = 0;
  for (let i = 0; i < rows; i++) if (t[i] !== ignoreIndex) valid++;
  const loss = new Float32Array(rows);
  const x = flat.data as Float32Array;
  backend().crossEntropy(x, t, rows, C, ignoreIndex, eps, loss, null, 1);
  const flat2 = reshape(flat, [rows, C]);
  const perRow = Tensor.fromOp("crossEntropy", loss, [rows], [flat2], (g) => {
    // d loss_r / d logits_r = softmax - target distribution, times the incoming g[r]. After a
    // mean or sum every g[r] is the same number: the kernel scales by it as it writes.
    const gd = g.data as Float32Array;
    let uniform = rows > 0;
    for (let r = 1; r < rows && uniform; r++) uniform = gd[r] === gd[0];
    const d = emptyFloat32(rows * C);
    backend().crossEntropy(x, t, rows, C, ignoreIndex, eps, new Float32Array(rows), d, uniform ? gd[0] : 1);
    if (uniform) return [new Tensor(d, [rows, C])];
    const scaled = emptyFloat32(rows * C);
    backend().binary("mul", d, [rows, C], gd, [rows, 1], scaled, [rows, C]);
    return [new Tensor(scaled, [rows, C])];
  });
  if (reduction === "none") return reshape(perRow, targets.shape);
  const total = sum(perRow);
  if (reduction === "sum") return total;
  return mul(total, valid === 0 ? NaN : 1 / valid);
}

export function mseLoss(input: Tensor, target: Tensor, reduction: Reduction = "mean"): Tensor {
  if (!shapesEqual(input.shape, target.shape)) {
    throw new RangeError(`mseLoss: input ${formatShape(input.shape)} and target ${formatShape(target.shape)} differ`);
  }
  const d = sub(input, target);
  return applyReduction(mul(d, d), reduction);
}

/** Binary cross-entropy on probabilities in [0, 1] (log clamped at -100, like PyTorch). */
export function binaryCrossEntropy(input: Tensor, target: Tensor, reduction: Reduction = "mean"): Tensor {
  if (!shapesEqual(input.shape, target.shape)) {
    throw new RangeError(`binaryCrossEntropy: input ${formatShape(input.shape)} and target ${formatShape(target.shape)} differ`);
  }
  const logP = clamp(log(input), -100);
  const log1mP = clamp(log(sub(1, input)), -100);
  const l = neg(add(mul(target, logP), mul(sub(1, target), log1mP)));
  return applyReduction(l, reduction);
}

/** Binary cross-entropy on logits, computed stably: max(x,0) - x*t + log(1 + exp(-|x|)). */
export function binaryCrossEntropyWithLogits(logits: Tensor, target: Tensor, reduction: Reduction = "mean"): Tensor {
  if (!shapesEqual(logits.shape, target.shape)) {
    throw new RangeError(`binaryCrossEntropyWithLogits: logits ${formatShape(logits.shape)} and target ${formatShape(target.shape)} differ`);
  }
  const l = add(sub(relu(logits), mul(logits, target)), log(add(1, exp(neg(abs(logits))))));
  return applyReduction(l, reduction);
}
