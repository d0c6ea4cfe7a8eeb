// Every differentiable op, as functions; importing this also installs the Tensor methods.

import "./methods.js";

export * from "./elementwise.js";
export * from "./reduce.js";
export * from "./shape.js";
export * from "./matmul.js";
export * from "./functional.js";
export * from "./loss.js";
export * from "./conv.js";
export * from "./attention.js";
export { sumToShape } from "./util.js";
