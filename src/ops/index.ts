// Every differentiable op, as functions; importing this also installs the Tensor methods.

import "./methods.js";
import { getBackend } from "../backend/backend.js";
import { setGradientAdder } from "../tensor/tensor.js";

// Gradient sums in backward() run on whichever backend is current.
setGradientAdder((a, b, out) => {
  const n = [out.length];
  getBackend().binary("add", a, n, b, n, out, n);
});

export * from "./elementwise.js";
export * from "./reduce.js";
export * from "./shape.js";
export * from "./matmul.js";
export * from "./functional.js";
export * from "./loss.js";
export * from "./conv.js";
export * from "./attention.js";
export { sumToShape } from "./util.js";
