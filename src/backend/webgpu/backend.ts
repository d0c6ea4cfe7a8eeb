// The `webgpu` backend: the Backend interface's kernels as WGSL compute shaders, on arrays that
// live in GPU memory.
//
// Why its arrays are `GPUArray`s and not Float32Arrays: the Backend interface is synchronous
// over host typed arrays, and WebGPU can only read GPU memory back asynchronously
// (GPUBuffer.mapAsync). Encoding and submitting work is synchronous, so every kernel here is an
// ordinary synchronous call with the same name and the same argument record as the Backend
// method (GemmArgs, AttentionArgs, ...) with GPUArray in place of Float32Array; it queues the
// work and returns at once. Only reading a result is asynchronous: `await x.data()`. Keeping the
// data on the GPU between kernels is also what makes a GPU pay: a round trip per op would cost
// more than the op. `setBackend("webgpu")` therefore refuses with a message that says so: the
// eager Tensor engine reads its arrays synchronously (loss.item(), indexing, the optimizers).

import type { AttentionArgs, BinaryOp, GemmArgs, UnaryOp } from "../backend.js";
import { BufferUsage, type GPUBufferLike, type GPUComputePipelineLike, type GPUDeviceLike, type GPULike, MapMode } from "./gpu-types.js";
import { ADAMW, ATTENTION, ATTENTION_MAX_DV, BINARY, BINARY_CODES, GEMM, LAYER_NORM, REDUCE, SOFTMAX, UNARY, UNARY_CODES } from "./shaders.js";

/** A float32 array in GPU memory. Read it with `await a.data()`; there is no synchronous read. */
export class GPUArray {
  #destroyed = false;
  constructor(readonly backend: WebGPUBackend, readonly buffer: GPUBufferLike, readonly length: number) {}

  /** Copy the array back to the host (waits for every kernel queued before the call). */
  async data(): Promise<Float32Array> {
    if (this.#destroyed) throw new Error("GPUArray.data: the array was destroyed");
    return this.backend.read(this);
  }

  /** Free the GPU memory now (the garbage collector does not see GPU memory pressure). */
  destroy(): void {
    this.#destroyed = true;
    this.buffer.destroy();
  }
}

/** GemmArgs with the operands on the GPU. */
export type GPUGemmArgs = Omit<GemmArgs, "a" | "b" | "c"> & { a: GPUArray; b: GPUArray; c: GPUArray };
/** AttentionArgs with the arrays on the GPU. */
export type GPUAttentionArgs = Omit<AttentionArgs, "q" | "k" | "v" | "mask" | "out" | "lse"> &
  { q: GPUArray; k: GPUArray; v: GPUArray; mask: GPUArray | null; out: GPUArray; lse: GPUArray };

export interface WebGPUOptions {
  /** The WebGPU entry point; default `navigator.gpu`. */
  gpu?: GPULike;
  powerPreference?: "low-power" | "high-performance";
}

/** Request an adapter and a device; fails with a message naming what is missing. */
export async function createWebGPUBackend(options: WebGPUOptions = {}): Promise<WebGPUBackend> {
  const nav = (globalThis as { navigator?: { gpu?: GPULike } }).navigator;
  const gpu = options.gpu ?? nav?.gpu;
  if (!gpu) {
    throw new Error("createWebGPUBackend: WebGPU is not available here (no navigator.gpu); in Chromium it needs a " +
      "secure context (https or http://127.0.0.1) and, without a GPU, --enable-unsafe-webgpu (docs/BROWSER.md)");
  }
  const adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? "high-performance" });
  if (!adapter) throw new Error("createWebGPUBackend: navigator.gpu.requestAdapter() found no adapter");
  const device = await adapter.requestDevice();
  const info = adapter.info ?? {};
  return new WebGPUBackend(device, [info.vendor, info.architecture, info.description].filter(Boolean).join(" ") || "unknown adapter");
}

type Param = number | boolean;

export class WebGPUBackend {
  readonly name = "webgpu";
  readonly #pipelines = new Map<string, GPUComputePipelineLike>();
  readonly #empty: GPUArray;
  /** Validation errors of queued dispatches, checked at the next read or sync. */
  readonly #pending: [string, Promise<{ message: string } | null>][] = [];

  constructor(readonly device: GPUDeviceLike, readonly adapterName: string) {
    this.#empty = this.zeros(1);
  }

  // --- memory ----------------------------------------------------------------------------------

  /** A zero-filled array of n floats on the GPU. */
  zeros(n: number): GPUArray {
    if (!Number.isInteger(n) || n < 0) throw new Error(`webgpu.zeros: length must be a non-negative integer, got ${n}`);
    const bytes = Math.max(4, n * 4);
    if (bytes > this.device.limits.maxStorageBufferBindingSize) {
      throw new Error(`webgpu: an array of ${n} floats (${bytes} bytes) exceeds this device's maxStorageBufferBindingSize ` +
        `(${this.device.limits.maxStorageBufferBindingSize} bytes)`);
    }
    const buffer = this.device.createBuffer({ size: bytes, usage: BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST });
    return new GPUArray(this, buffer, n);
  }

  /** Copy a host array to the GPU. */
  upload(x: Float32Array | ArrayLike<number>): GPUArray {
    const data = x instanceof Float32Array ? x : Float32Array.from(x);
    const a = this.zeros(data.length);
    if (data.length > 0) this.device.queue.writeBuffer(a.buffer, 0, data.buffer, data.byteOffset, data.byteLength);
    return a;
  }

  /** Overwrite a GPU array with host data of the same length. */
  write(a: GPUArray, x: Float32Array): void {
    this.#sameLength("write", a, x.length);
    this.device.queue.writeBuffer(a.buffer, 0, x.buffer, x.byteOffset, x.byteLength);
  }

  /** Read a GPU array back (asynchronous: WebGPU maps buffers for reading only asynchronously).
   * Rejects with the first error any kernel queued before it raised (WebGPU reports errors late). */
  async read(a: GPUArray): Promise<Float32Array> {
    await this.#rethrow();
    const bytes = Math.max(4, a.length * 4);
    const staging = this.device.createBuffer({ size: bytes, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
    const enc = this.device.createCommandEncoder();
    enc.copyBufferToBuffer(a.buffer, 0, staging, 0, bytes);
    this.device.queue.submit([enc.finish()]);
    await staging.mapAsync(MapMode.READ);
    const out = new Float32Array(staging.getMappedRange().slice(0, a.length * 4));
    staging.unmap();
    staging.destroy();
    return out;
  }

  /** Wait until every queued kernel has run (for timing). */
  async sync(): Promise<void> {
    await this.#rethrow();
    await this.device.queue.onSubmittedWorkDone();
  }

  async #rethrow(): Promise<void> {
    const pending = this.#pending.splice(0);
    for (const [name, error] of pending) {
      const e = await error;
      if (e) throw new Error(`webgpu.${name}: ${e.message}`);
    }
  }

  // --- kernels (the Backend interface's, on GPU arrays) -----------------------------------------

  gemm(g: GPUGemmArgs): void {
    const { m, n, k, batch } = g;
    const lastA = g.aOffset + (batch - 1) * g.strideA + (g.transA ? (k - 1) * g.lda + m : (m - 1) * g.lda + k);
    const lastB = g.bOffset + (batch - 1) * g.strideB + (g.transB ? (n - 1) * g.ldb + k : (k - 1) * g.ldb + n);
    const lastC = g.cOffset + (batch - 1) * g.strideC + (m - 1) * g.ldc + n;
    if (m > 0 && k > 0 && lastA > g.a.length) throw new Error(`webgpu.gemm: A holds ${g.a.length} floats, the arguments read up to ${lastA}`);
    if (n > 0 && k > 0 && lastB > g.b.length) throw new Error(`webgpu.gemm: B holds ${g.b.length} floats, the arguments read up to ${lastB}`);
    if (m > 0 && n > 0 && lastC > g.c.length) throw new Error(`webgpu.gemm: C holds ${g.c.length} floats, the arguments write up to ${lastC}`);
    if (m === 0 || n === 0 || batch === 0) return;
    this.#check(batch <= this.device.limits.maxComputeWorkgroupsPerDimension, `webgpu.gemm: batch ${batch} exceeds the dispatch limit`);
    const params = [m, n, k, g.transA, g.transB, g.aOffset, g.lda, g.strideA, g.bOffset, g.ldb, g.strideB,
      g.cOffset, g.ldc, g.strideC];
    this.#run("gemm", GEMM, params, [g.alpha, g.beta], [g.a, g.b, g.c], [Math.ceil(n / 64), Math.ceil(m / 64), batch]);
  }

  unary(op: UnaryOp, x: GPUArray, out: GPUArray): void {
    this.#sameLength(`unary ${op}`, out, x.length);
    this.#run("unary", UNARY, [x.length, UNARY_CODES[op]], [], [x, out], this.#grid(x.length, 256));
  }

  /** out = a (op) b with NumPy broadcasting (shapes aligned to outShape's rank, as Backend.binary).
   * Float ops only: the comparisons return int32 on the host backends. */
  binary(op: BinaryOp, a: GPUArray, aShape: number[], b: GPUArray, bShape: number[], out: GPUArray, outShape: number[]): void {
    const code = (BINARY_CODES as Partial<Record<BinaryOp, number>>)[op];
    if (code === undefined) throw new Error(`webgpu.binary: "${op}" is not supported (comparisons give int32; use the js backend)`);
    const rank = outShape.length;
    if (aShape.length !== rank || bShape.length !== rank) {
      throw new Error(`webgpu.binary: shapes [${aShape}] and [${bShape}] must be aligned to the output's rank ${rank}`);
    }
    const strides = (shape: number[]): number[] => {
      const s = new Array<number>(rank).fill(0);
      let acc = 1;
      for (let d = rank - 1; d >= 0; d--) {
        if (shape[d] !== 1 && shape[d] !== outShape[d]) {
          throw new Error(`webgpu.binary: shape [${shape}] does not broadcast to [${outShape}]`);
        }
        s[d] = shape[d] === 1 ? 0 : acc;
        acc *= shape[d];
      }
      return s;
    };
    const n = outShape.reduce((x, y) => x * y, 1);
    this.#sameLength(`binary ${op}`, out, n);
    this.#sameLength(`binary ${op} (a)`, a, aShape.reduce((x, y) => x * y, 1));
    this.#sameLength(`binary ${op} (b)`, b, bShape.reduce((x, y) => x * y, 1));
    this.#run("binary", BINARY, [n, code, rank, ...outShape, ...strides(aShape), ...strides(bShape)], [], [a, b, out], this.#grid(n, 256));
  }

  reduce(op: "sum" | "max" | "min", x: GPUArray, outer: number, size: number, inner: number, out: GPUArray): void {
    this.#sameLength(`reduce ${op} (x)`, x, outer * size * inner);
    this.#sameLength(`reduce ${op}`, out, outer * inner);
    if (size === 0 && op !== "sum") throw new Error(`webgpu.reduce: ${op} over an empty axis`);
    this.#run("reduce", REDUCE, [outer, size, inner, { sum: 0, max: 1, min: 2 }[op]], [], [x, out], this.#grid(outer * inner, 256));
  }

  softmax(x: GPUArray, rows: number, cols: number, out: GPUArray): void {
    this.#rowwise("softmax", x, rows, cols, out, 0);
  }

  logSoftmax(x: GPUArray, rows: number, cols: number, out: GPUArray): void {
    this.#rowwise("logSoftmax", x, rows, cols, out, 1);
  }

  layerNorm(x: GPUArray, gamma: GPUArray | null, beta: GPUArray | null, rows: number, cols: number, eps: number,
    out: GPUArray, mean: GPUArray, rstd: GPUArray): void {
    this.#sameLength("layerNorm (x)", x, rows * cols);
    this.#sameLength("layerNorm (out)", out, rows * cols);
    this.#sameLength("layerNorm (mean)", mean, rows);
    this.#sameLength("layerNorm (rstd)", rstd, rows);
    if (gamma) this.#sameLength("layerNorm (gamma)", gamma, cols);
    if (beta) this.#sameLength("layerNorm (beta)", beta, cols);
    this.#run("layerNorm", LAYER_NORM, [rows, cols], [eps, gamma ? 1 : 0, beta ? 1 : 0],
      [x, gamma ?? this.#empty, beta ?? this.#empty, out, mean, rstd], this.#grid(rows, 256), [true, false, false]);
  }

  adamw(param: GPUArray, grad: GPUArray, m: GPUArray, v: GPUArray, lr: number, beta1: number, beta2: number, eps: number,
    weightDecay: number, step: number): void {
    for (const [name, a] of [["grad", grad], ["m", m], ["v", v]] as const) this.#sameLength(`adamw (${name})`, a, param.length);
    const bc1 = 1 - Math.pow(beta1, step), bc2 = 1 - Math.pow(beta2, step);
    this.#run("adamw", ADAMW, [param.length], [lr, beta1, beta2, eps, weightDecay, bc1, bc2], [param, grad, m, v],
      this.#grid(param.length, 256));
  }

  attention(a: GPUAttentionArgs): void {
    const { bh, tq, tk, d, dv } = a;
    if (dv > ATTENTION_MAX_DV) throw new Error(`webgpu.attention: value width ${dv} exceeds ${ATTENTION_MAX_DV} (registers per row)`);
    this.#sameLength("attention (q)", a.q, bh * tq * d);
    this.#sameLength("attention (k)", a.k, bh * tk * d);
    this.#sameLength("attention (v)", a.v, bh * tk * dv);
    this.#sameLength("attention (out)", a.out, bh * tq * dv);
    this.#sameLength("attention (lse)", a.lse, bh * tq);
    if (a.mask) this.#sameLength("attention (mask)", a.mask, a.maskBatch * tq * tk);
    if (a.causal && tq > tk) throw new Error(`webgpu.attention: causal attention needs tq <= tk, got tq ${tq}, tk ${tk}`);
    const params = [bh, tq, tk, d, dv, a.heads ?? 0];
    this.#run("attention", ATTENTION, params, [a.scale, a.causal ? 1 : 0, a.mask ? 1 : 0, a.maskBatch, a.maskHeadDiv],
      [a.q, a.k, a.v, a.mask ?? this.#empty, a.out, a.lse], this.#grid(bh * tq, 64), [true, false, false, false, false]);
  }

  // --- plumbing ----------------------------------------------------------------------------------

  #rowwise(name: string, x: GPUArray, rows: number, cols: number, out: GPUArray, op: number): void {
    this.#sameLength(`${name} (x)`, x, rows * cols);
    this.#sameLength(`${name} (out)`, out, rows * cols);
    this.#run("softmax", SOFTMAX, [rows, cols, op], [], [x, out], this.#grid(rows, 256));
  }

  #sameLength(what: string, a: GPUArray, n: number): void {
    if (a.length !== n) throw new Error(`webgpu.${what}: expected ${n} floats, got an array of ${a.length}`);
  }

  #check(ok: boolean, message: string): void {
    if (!ok) throw new Error(message);
  }

  /** Workgroups for n threads of `size` each, on a 2-D grid under the per-dimension limit. */
  #grid(n: number, size: number): [number, number, number] {
    const groups = Math.max(1, Math.ceil(n / size));
    const max = this.device.limits.maxComputeWorkgroupsPerDimension;
    if (groups <= max) return [groups, 1, 1];
    const x = max, y = Math.ceil(groups / x);
    this.#check(y <= max, `webgpu: ${n} threads exceed the dispatch limit`);
    return [x, y, 1];
  }

  /**
   * Queue one dispatch: params are u32 (booleans as 0/1); floats go after them as their bits,
   * except where `floatMask` marks an entry of `floats` as a u32 (a flag or a count).
   */
  #run(key: string, code: string, params: Param[], floats: number[], arrays: GPUArray[], grid: [number, number, number],
    floatMask?: boolean[]): void {
    this.device.pushErrorScope("validation");
    let pipeline = this.#pipelines.get(key);
    if (!pipeline) {
      pipeline = this.device.createComputePipeline({ layout: "auto", compute: { module: this.device.createShaderModule({ code }), entryPoint: "main" } });
      this.#pipelines.set(key, pipeline);
    }
    const words = new Uint32Array(params.length + floats.length);
    const asFloat = new Float32Array(words.buffer);
    params.forEach((v, i) => { words[i] = typeof v === "boolean" ? (v ? 1 : 0) : v; });
    floats.forEach((v, i) => {
      const isFloat = floatMask ? floatMask[i] : true;
      if (isFloat) asFloat[params.length + i] = v;
      else words[params.length + i] = v;
    });
    const pbuf = this.device.createBuffer({ size: Math.max(16, words.byteLength), usage: BufferUsage.STORAGE | BufferUsage.COPY_DST });
    this.device.queue.writeBuffer(pbuf, 0, words);
    const bind = this.device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [pbuf, ...arrays.map((a) => a.buffer)].map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
    const enc = this.device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bind);
    pass.dispatchWorkgroups(...grid);
    pass.end();
    this.device.queue.submit([enc.finish()]);
    pbuf.destroy();
    this.#pending.push([key, this.device.popErrorScope()]);
  }
}
