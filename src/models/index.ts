// Model families, one file each.

export * from "./vit.js";
export * from "./gpt.js";
export * from "./bert.js";
export * from "./transformer.js";
export * from "./rnn-attention.js";
export * from "./t5.js";
export * from "./hybrid-vit.js";
export * from "./resnet.js";
export * from "./vivit.js";
export * from "./timesformer.js";
export * from "./video-cnn-transformer.js";
