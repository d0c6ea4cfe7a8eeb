// Reading and writing models: safetensors files, atomic writes, checkpoint directories.

export * from "./atomic.js";
export * from "./checkpoint.js";
export * from "./safetensors.js";
export * from "./training.js";
export * from "./hf/index.js";
export * from "./onnx/index.js";
