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
import {
  BufferUsage, type GPUBindGroupLike, type GPUBufferLike, type GPUCommandEncoderLike, type GPUComputePassLike, type GPUComputePipelineLike, type GPUDeviceLike, type GPULike, MapMode,
} from "./gpu-types.js";
import {
  ADAMW, ATTENTION_MAX_DV, BINARY, BINARY_CODES, GEMM, GEMM_LARGE, LAYER_NORM, REDUCE, SOFTMAX, UNARY, UNARY_CODES, ATTENTION,
} from "./shaders.js";
import {
  COLUMN_SUM, COPY_BLOCKS, CROSS_ENTROPY, LAYER_NORM_BACKWARD,
  LAYER_NORM_PARAM_GRADS, PERMUTE, PERMUTE_MAX_RANK, ROW_DOT, UNARY_BACKWARD, UNARY_BACKWARD_OPS, ATTENTION_BACKWARD_K,
  ATTENTION_BACKWARD_Q, ATTENTION_BACKWARD_V,
} from "./shaders-train.js";

let nextArrayId = 0;

/** A float32 array in GPU memory. Read it with `await a.data()`; there is no synchronous read. */
export class GPUArray {
  #destroyed = false;
  /** Identifies the array in the backend's bind-group cache. */
  readonly id = nextArrayId++;
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
/** AttentionBackwardArgs with the arrays on the GPU (gradQ/gradK/gradV are overwritten). */
export type GPUAttentionBackwardArgs = GPUAttentionArgs & { gradOut: GPUArray; gradQ: GPUArray; gradK: GPUArray; gradV: GPUArray };

/** One strided block copy (see `copyBlocks`): offsets and strides in floats. */
export interface BlockCopy {
  batch: number; rows: number; cols: number;
  xOffset: number; xBatchStride: number; xRowStride: number;
  yOffset: number; yBatchStride: number; yRowStride: number;
  /** Add into y instead of overwriting it. */
  add: boolean;
}

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
  return new WebGPUBackend(device, [info.vendor, info.architecture, info.description].filter(Boolean).join(" ") || "unknown adapter", gpu);
}

type Param = number | boolean;

/** Which of the attention kernels' scalars (scale causal hasMask maskBatch maskHeadDiv) are floats. */
const ATTENTION_FLOAT_MASK = [true, false, false, false, false];

export class WebGPUBackend {
  readonly name = "webgpu";
  readonly #pipelines = new Map<string, GPUComputePipelineLike>();
  readonly #empty: GPUArray;
  /** Validation errors of queued dispatches, checked at the next read or sync. */
  readonly #pending: [string, Promise<{ message: string } | null>][] = [];
  /**
   * Dispatches are recorded into one compute pass and submitted together, every BATCH kernels
   * or at the next read, write or sync: a submit per kernel costs more than a small kernel.
   * Their parameters go to one "arena" buffer, a 256-byte slot each, written once per submit;
   * a queue write is ordered after the submits before it, so one arena serves every batch.
   */
  static readonly BATCH = 64;
  #encoder: GPUCommandEncoderLike | null = null;
  #pass: GPUComputePassLike | null = null;
  #queued: string[] = [];
  readonly #slotWords: number;
  readonly #arenaHost: Uint32Array;
  readonly #arena: GPUBufferLike;
  /** Bind groups by kernel, arena slot and arrays: a training step repeats the same dispatches. */
  readonly #bindGroups = new Map<string, GPUBindGroupLike>();
  /** Scratch arrays by purpose and size, reused (the queue orders the kernels that share one). */
  readonly #scratchPool = new Map<string, GPUArray>();

  constructor(readonly device: GPUDeviceLike, readonly adapterName: string, readonly entry?: GPULike) {
    this.#empty = this.zeros(1);
    const align = Math.max(256, device.limits.minStorageBufferOffsetAlignment ?? 256, device.limits.minUniformBufferOffsetAlignment ?? 256);
    this.#slotWords = align / 4;
    this.#arenaHost = new Uint32Array(this.#slotWords * WebGPUBackend.BATCH);
    this.#arena = device.createBuffer({ size: this.#arenaHost.byteLength, usage: BufferUsage.STORAGE | BufferUsage.UNIFORM | BufferUsage.COPY_DST });
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

  /** Overwrite a GPU array with host data of the same length (after every kernel queued before). */
  write(a: GPUArray, x: Float32Array): void {
    this.#sameLength("write", a, x.length);
    this.flush(); // a queue write overtakes work still in the open encoder
    this.device.queue.writeBuffer(a.buffer, 0, x.buffer, x.byteOffset, x.byteLength);
  }

  /** Read a GPU array back (asynchronous: WebGPU maps buffers for reading only asynchronously).
   * Rejects with the first error any kernel queued before it raised (WebGPU reports errors late). */
  async read(a: GPUArray): Promise<Float32Array> {
    this.flush();
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
    this.flush();
    await this.#rethrow();
    await this.device.queue.onSubmittedWorkDone();
  }

  /** Submit the kernels recorded so far (reads, writes and sync do this themselves). */
  flush(): void {
    if (!this.#encoder) return;
    this.#pass!.end();
    const used = this.#queued.length * this.#slotWords;
    this.device.queue.writeBuffer(this.#arena, 0, this.#arenaHost.buffer, 0, used * 4);
    this.device.queue.submit([this.#encoder.finish()]);
    // one error scope spans the batch: its kernels' bind groups, the pass and the submit
    this.#pending.push([this.#queued.join(", "), this.device.popErrorScope()]);
    this.#encoder = null;
    this.#pass = null;
    this.#queued = [];
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
    // Split-K: a small C over a long K (a weight gradient, dW = dY^T X over every row of the
    // batch) would be a handful of tiles, each walking all of K alone while the GPU idles. Cut
    // K into chunks computed as a batch of partial products side by side, then sum them.
    const tiles = Math.ceil(m / 64) * Math.ceil(n / 64);
    if (batch === 1 && g.beta === 0 && tiles < 32 && k >= 512 && g.cOffset === 0 && g.ldc === n && g.c.length === m * n) {
      const parts = Math.max(2, Math.min(Math.floor(k / 128), Math.round(256 / tiles)));
      const kc = Math.ceil(k / parts / 16) * 16, full = Math.floor(k / kc), rest = k - full * kc;
      const strideA = g.transA ? kc * g.lda : kc, strideB = g.transB ? kc : kc * g.ldb;
      const partial = this.#scratch("splitK", (full + (rest > 0 ? 1 : 0)) * m * n);
      this.#gemmKernel({ ...g, k: kc, strideA, strideB, c: partial, ldc: n, strideC: m * n, batch: full });
      if (rest > 0) {
        this.#gemmKernel({ ...g, k: rest, aOffset: g.aOffset + full * strideA, bOffset: g.bOffset + full * strideB, c: partial,
          cOffset: full * m * n, ldc: n, strideC: 0, batch: 1 });
      }
      this.reduce("sum", partial, 1, full + (rest > 0 ? 1 : 0), m * n, g.c);
      return;
    }
    this.#gemmKernel(g);
  }

  #gemmKernel(g: GPUGemmArgs): void {
    const params = [g.m, g.n, g.k, g.transA, g.transB, g.aOffset, g.lda, g.strideA, g.bOffset, g.ldb, g.strideB,
      g.cOffset, g.ldc, g.strideC];
    // 128x128 tiles once there are enough of them to keep a large GPU's ~100+ cores busy
    // (on an H200, 1024^3 ran slower with 64 such tiles than with 256 of 64x64); 64x64 below
    const large = Math.ceil(g.m / 128) * Math.ceil(g.n / 128) * g.batch >= 256;
    const tile = large ? 128 : 64;
    this.#run(large ? "gemmLarge" : "gemm", large ? GEMM_LARGE : GEMM, params, [g.alpha, g.beta], [g.a, g.b, g.c],
      [Math.ceil(g.n / tile), Math.ceil(g.m / tile), g.batch]);
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
    const { params, floats } = this.#attentionParams("attention", a);
    this.#run("attention", ATTENTION, params, floats,
      [a.q, a.k, a.v, a.mask ?? this.#empty, a.out, a.lse], this.#grid(a.bh * a.tq, 64), ATTENTION_FLOAT_MASK);
  }

  /** Check attention's arrays against its sizes (forward and backward); the kernels' parameters. */
  #attentionParams(name: string, a: GPUAttentionArgs): { params: Param[]; floats: number[] } {
    const { bh, tq, tk, d, dv } = a;
    if (d > ATTENTION_MAX_DV || dv > ATTENTION_MAX_DV) {
      throw new Error(`webgpu.${name}: head widths ${d}/${dv} exceed ${ATTENTION_MAX_DV} (registers per row)`);
    }
    for (const [what, arr, n] of [["q", a.q, bh * tq * d], ["k", a.k, bh * tk * d], ["v", a.v, bh * tk * dv], ["out", a.out, bh * tq * dv],
      ["lse", a.lse, bh * tq]] as const) this.#sameLength(`${name} (${what})`, arr, n);
    if (a.mask) this.#sameLength(`${name} (mask)`, a.mask, a.maskBatch * tq * tk);
    if (a.causal && tq > tk) throw new Error(`webgpu.${name}: causal attention needs tq <= tk, got tq ${tq}, tk ${tk}`);
    return { params: [bh, tq, tk, d, dv, a.heads ?? 0], floats: [a.scale, a.causal ? 1 : 0, a.mask ? 1 : 0, a.maskBatch, a.maskHeadDiv] };
  }

  // --- training kernels: backward passes, loss, layout (shaders-train.ts) -------------------------

  /** dx = dy * f'(x) for tanh, sigmoid, relu, gelu, geluTanh and silu. */
  unaryBackward(op: UnaryOp, x: GPUArray, dy: GPUArray, dx: GPUArray): void {
    if (!(UNARY_BACKWARD_OPS as readonly string[]).includes(op)) {
      throw new Error(`webgpu.unaryBackward: "${op}" is not supported (supported: ${UNARY_BACKWARD_OPS.join(", ")})`);
    }
    this.#sameLength(`unaryBackward ${op} (dy)`, dy, x.length);
    this.#sameLength(`unaryBackward ${op} (dx)`, dx, x.length);
    this.#run("unaryBackward", UNARY_BACKWARD, [x.length, UNARY_CODES[op]], [], [x, dy, dx], this.#grid(x.length, 256));
  }

  /** Layer norm backward from the saved mean and 1/std: dx, and dgamma/dbeta when given (overwritten). */
  layerNormBackward(x: GPUArray, gamma: GPUArray | null, mean: GPUArray, rstd: GPUArray, dy: GPUArray, rows: number, cols: number,
    dx: GPUArray, dgamma: GPUArray | null, dbeta: GPUArray | null): void {
    for (const [name, a, n] of [["x", x, rows * cols], ["dy", dy, rows * cols], ["dx", dx, rows * cols], ["mean", mean, rows],
      ["rstd", rstd, rows]] as const) this.#sameLength(`layerNormBackward (${name})`, a, n);
    if (gamma) this.#sameLength("layerNormBackward (gamma)", gamma, cols);
    this.#run("layerNormBackward", LAYER_NORM_BACKWARD, [rows, cols, gamma ? 1 : 0], [], [x, gamma ?? this.#empty, mean, rstd, dy, dx],
      this.#grid(rows, 256));
    if (!dgamma && !dbeta) return;
    if (dgamma) this.#sameLength("layerNormBackward (dgamma)", dgamma, cols);
    if (dbeta) this.#sameLength("layerNormBackward (dbeta)", dbeta, cols);
    const chunk = WebGPUBackend.#CHUNK, chunks = Math.ceil(rows / chunk);
    const pg = this.#scratch("lnDgamma", chunks * cols), pb = this.#scratch("lnDbeta", chunks * cols);
    this.#run("layerNormParamGrads", LAYER_NORM_PARAM_GRADS, [rows, cols, chunk], [], [x, mean, rstd, dy, pg, pb], this.#grid(chunks * cols, 256));
    if (dgamma) this.columnSum(pg, chunks, cols, dgamma);
    if (dbeta) this.columnSum(pb, chunks, cols, dbeta);
  }

  /** out[j] = sum over rows of x[r, j] (a bias gradient): partial sums of 32 rows at a time,
   * repeated until few rows are left (short loops keep a GPU's threads busy), then one sum. */
  columnSum(x: GPUArray, rows: number, cols: number, out: GPUArray): void {
    this.#sameLength("columnSum (x)", x, rows * cols);
    this.#sameLength("columnSum (out)", out, cols);
    const chunk = WebGPUBackend.#CHUNK;
    let stage = 0;
    while (rows > chunk) {
      const chunks = Math.ceil(rows / chunk), partial = this.#scratch(`columnSum${stage++}`, chunks * cols);
      this.#run("columnSum", COLUMN_SUM, [rows, cols, chunk], [], [x, partial], this.#grid(chunks * cols, 256));
      x = partial;
      rows = chunks;
    }
    this.reduce("sum", x, 1, rows, cols, out);
  }

  /**
   * Softmax cross-entropy per row: loss[r] and dlogits (softmax - onehot) * gradScale. Targets are
   * class indices stored as floats (exact below 2^24); a negative target skips its row (loss 0).
   */
  crossEntropy(logits: GPUArray, targets: GPUArray, rows: number, cols: number, loss: GPUArray, dlogits: GPUArray, gradScale: number): void {
    this.#sameLength("crossEntropy (logits)", logits, rows * cols);
    this.#sameLength("crossEntropy (targets)", targets, rows);
    this.#sameLength("crossEntropy (loss)", loss, rows);
    this.#sameLength("crossEntropy (dlogits)", dlogits, rows * cols);
    this.#run("crossEntropy", CROSS_ENTROPY, [rows, cols], [gradScale], [logits, targets, loss, dlogits], this.#grid(rows, 256));
  }

  /** out = x permuted, as Backend.permute: x has `shape`, out has shape[perm[i]] along axis i. */
  permute(x: GPUArray, shape: number[], perm: number[], out: GPUArray): void {
    const rank = shape.length;
    if (rank > PERMUTE_MAX_RANK) throw new Error(`webgpu.permute: rank ${rank} exceeds ${PERMUTE_MAX_RANK}`);
    if (perm.length !== rank || [...perm].sort((a, b) => a - b).some((v, i) => v !== i)) {
      throw new Error(`webgpu.permute: [${perm}] is not a permutation of ${rank} axes`);
    }
    const n = shape.reduce((a, b) => a * b, 1);
    this.#sameLength("permute (x)", x, n);
    this.#sameLength("permute (out)", out, n);
    const stride = new Array<number>(rank);
    for (let d = rank - 1, acc = 1; d >= 0; d--) { stride[d] = acc; acc *= shape[d]; }
    this.#run("permute", PERMUTE, [n, rank, ...perm.map((a) => shape[a]), ...perm.map((a) => stride[a])], [], [x, out], this.#grid(n, 256));
  }

  /** Strided block copy or accumulation (COPY_BLOCKS in shaders-train.ts): concatenation, slicing,
   * bias and position-embedding adds, residual connections. x and y must be different arrays. */
  copyBlocks(x: GPUArray, y: GPUArray, c: BlockCopy): void {
    if (x === y) throw new Error("webgpu.copyBlocks: x and y must be different arrays");
    const n = c.batch * c.rows * c.cols;
    if (n === 0) return;
    const last = (off: number, b: number, r: number) => off + (c.batch - 1) * b + (c.rows - 1) * r + c.cols;
    if (last(c.xOffset, c.xBatchStride, c.xRowStride) > x.length) {
      throw new Error(`webgpu.copyBlocks: x holds ${x.length} floats, the copy reads up to ${last(c.xOffset, c.xBatchStride, c.xRowStride)}`);
    }
    if (last(c.yOffset, c.yBatchStride, c.yRowStride) > y.length) {
      throw new Error(`webgpu.copyBlocks: y holds ${y.length} floats, the copy writes up to ${last(c.yOffset, c.yBatchStride, c.yRowStride)}`);
    }
    this.#run("copyBlocks", COPY_BLOCKS, [c.batch, c.rows, c.cols, c.xOffset, c.xBatchStride, c.xRowStride, c.yOffset, c.yBatchStride,
      c.yRowStride, c.add], [], [x, y], this.#grid(n, 256));
  }

  /** Gradients of the fused attention (overwrites gradQ, gradK, gradV), from its saved out and lse. */
  attentionBackward(a: GPUAttentionBackwardArgs): void {
    const { params, floats } = this.#attentionParams("attentionBackward", a);
    const { bh, tq, tk, d, dv } = a;
    for (const [name, arr, n] of [["gradOut", a.gradOut, bh * tq * dv], ["gradQ", a.gradQ, bh * tq * d], ["gradK", a.gradK, bh * tk * d],
      ["gradV", a.gradV, bh * tk * dv]] as const) this.#sameLength(`attentionBackward (${name})`, arr, n);
    const rowDot = this.#scratch("rowDot", bh * tq); // dO . O per query row, in O's row order
    this.#run("rowDot", ROW_DOT, [bh * tq, dv], [], [a.gradOut, a.out, rowDot], this.#grid(bh * tq, 256));
    const inputs = [a.q, a.k, a.mask ?? this.#empty, a.lse, a.gradOut];
    this.#run("attentionBackwardQ", ATTENTION_BACKWARD_Q, params, floats, [...inputs, a.v, rowDot, a.gradQ],
      this.#grid(bh * tq, 64), ATTENTION_FLOAT_MASK);
    this.#run("attentionBackwardK", ATTENTION_BACKWARD_K, params, floats, [...inputs, a.v, rowDot, a.gradK],
      this.#grid(bh * tk, 64), ATTENTION_FLOAT_MASK);
    this.#run("attentionBackwardV", ATTENTION_BACKWARD_V, params, floats, [...inputs, a.gradV],
      this.#grid(bh * tk, 64), ATTENTION_FLOAT_MASK);
  }

  /** Rows each thread sums in a stage of a column reduction. */
  static readonly #CHUNK = 32;

  /** A scratch array for `purpose`, kept for later calls (kernels run in queue order, so reuse is safe). */
  #scratch(purpose: string, n: number): GPUArray {
    const key = `${purpose}:${n}`;
    let a = this.#scratchPool.get(key);
    if (!a) { a = this.zeros(n); this.#scratchPool.set(key, a); }
    return a;
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
    if (!this.#encoder) {
      this.device.pushErrorScope("validation");
      this.#encoder = this.device.createCommandEncoder();
      this.#pass = this.#encoder.beginComputePass();
    }
    let pipeline = this.#pipelines.get(key);
    if (!pipeline) {
      pipeline = this.device.createComputePipeline({ layout: "auto", compute: { module: this.device.createShaderModule({ code }), entryPoint: "main" } });
      this.#pipelines.set(key, pipeline);
    }
    const slot = this.#queued.length, base = slot * this.#slotWords;
    const words = this.#arenaHost.subarray(base, base + this.#slotWords);
    if (params.length + floats.length > words.length) throw new Error(`webgpu.${key}: ${params.length + floats.length} parameters exceed a slot`);
    words.fill(0);
    const asFloat = new Float32Array(words.buffer, words.byteOffset, words.length);
    params.forEach((v, i) => { words[i] = typeof v === "boolean" ? (v ? 1 : 0) : v; });
    floats.forEach((v, i) => {
      const isFloat = floatMask ? floatMask[i] : true;
      if (isFloat) asFloat[params.length + i] = v;
      else words[params.length + i] = v;
    });
    // p is bound as a slot of the arena: a storage array for most kernels, a uniform for some
    const bindKey = `${key}|${slot}|${arrays.map((a) => a.id).join(",")}`;
    let bind = this.#bindGroups.get(bindKey);
    if (!bind) {
      if (this.#bindGroups.size >= 4096) this.#bindGroups.clear();
      bind = this.device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [
          { binding: 0, resource: { buffer: this.#arena, offset: base * 4, size: this.#slotWords * 4 } },
          ...arrays.map((a, i) => ({ binding: i + 1, resource: { buffer: a.buffer } })),
        ],
      });
      this.#bindGroups.set(bindKey, bind);
    }
    const pass = this.#pass!;
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bind);
    pass.dispatchWorkgroups(...grid);
    this.#queued.push(key);
    if (this.#queued.length >= WebGPUBackend.BATCH) this.flush();
  }
}
