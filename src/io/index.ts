// Reading and writing models: a minimal checkpoint directory (safetensors comes later).

export * from "./checkpoint.js";
