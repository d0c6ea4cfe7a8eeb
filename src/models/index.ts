// Model families, one file each.

export * from "./vit.js";
export * from "./gpt.js";
export * from "./transformer.js";
export * from "./rnn-attention.js";
export * from "./vivit.js";
export * from "./timesformer.js";
export * from "./video-cnn-transformer.js";
