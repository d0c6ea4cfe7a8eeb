// Attention in every form: the five steps, score functions, masks, local and hard attention,
// multi-head attention with a key/value cache.

export * from "./attend.js";
export * from "./masks.js";
export * from "./scores.js";
export * from "./local.js";
export * from "./hard.js";
export * from "./heads.js";
export * from "./multi-head.js";
