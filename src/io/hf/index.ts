// Hugging Face checkpoint layouts: config.json + safetensors weights, per model family.

export * from "./layout.js";
export * from "./vit.js";
export * from "./gpt2.js";
export * from "./pretrained.js";
export * from "./bert.js";
