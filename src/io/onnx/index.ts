// ONNX export: a protobuf writer, a graph builder, one graph per model family.

export * from "./graph.js";
export * from "./export.js";
export * from "./bert.js";
