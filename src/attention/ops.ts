// The elementwise ops the attention forms use, gathered in one place.

export { add, mul, tanh, sqrt, maximum, exp, log, sigmoid } from "../ops/elementwise.js";
import { add, exp, log } from "../ops/elementwise.js";
import type { Tensor } from "../tensor/tensor.js";

/** softplus(x) = log(1 + e^x), to keep a learned sharpening strength positive. */
export function softplus(x: Tensor): Tensor {
  return log(add(exp(x), 1));
}
