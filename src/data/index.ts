// Data: file formats, datasets and batching.

export * from "./idx.js";
export * from "./mnist.js";
export * from "./loader.js";
export * from "./vocab.js";
export * from "./cmudict.js";
export * as tokenizers from "./tokenizers/index.js";
export * from "./augment.js";
export * from "./images.js";
export * from "./moving-mnist.js";
export * from "./video.js";
export * from "./corpora.js";
