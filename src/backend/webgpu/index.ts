// The `webgpu` backend: WGSL kernels on GPU-resident arrays (see backend.ts for why reads are
// asynchronous). Registered under "webgpu" so that `setBackend("webgpu")` explains itself
// instead of calling the name unknown.

import { registerBackend } from "../backend.js";

export { GPUArray, WebGPUBackend, createWebGPUBackend } from "./backend.js";
export type { GPUGemmArgs, GPUAttentionArgs, WebGPUOptions } from "./backend.js";
export { ATTENTION_MAX_DV } from "./shaders.js";

registerBackend("webgpu", () => {
  throw new Error("setBackend: the webgpu backend cannot run the eager Tensor engine, which reads its arrays " +
    "synchronously, while WebGPU reads back only asynchronously. Use `await createWebGPUBackend()` and its kernels on " +
    "GPUArrays (`await a.data()` reads one back); docs/BROWSER.md explains the design");
});
