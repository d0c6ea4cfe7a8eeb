// Neural-network building blocks.

export { Module, Parameter } from "./module.js";
export * from "./layers.js";
export * from "./containers.js";
export * as init from "./init.js";
export * as functional from "../ops/index.js";
export * from "./losses.js";
export * from "./gru.js";
export * from "./group-norm.js";
