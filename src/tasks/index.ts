// Runnable tasks: copy/reverse and CMUdict grapheme-to-phoneme, for the Transformer and the
// GRU + attention baseline.

export * from "./seq2seq.js";
export * from "./copy.js";
export * from "./g2p.js";
export * from "./g2p-checkpoint.js";
export * from "./image-classification.js";
export * from "./image-checkpoint.js";
export * from "./mnist-classification.js";
export * from "./video-classification.js";
