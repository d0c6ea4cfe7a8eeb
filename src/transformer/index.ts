// Encoder and decoder layers, and autoregressive decoding.

export * from "./layers.js";
export * from "./decoding.js";
