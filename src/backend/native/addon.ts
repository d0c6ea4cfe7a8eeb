// Loads tsformer's native CPU addon (C++ via Node-API, built by scripts/build-native.mjs).
// A prebuilt binary in prebuilds/<platform>-<arch>/ wins over build/Release/.

import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export type NativeIsa = "avx512" | "avx2" | "generic";

/** Unary op codes understood by the addon (others fall back to the base backend). */
export const NATIVE_UNARY_CODES = {
  gelu: 0, geluTanh: 1, relu: 2, silu: 3, exp: 4, tanh: 5, sigmoid: 6,
} as const;

/** Binary op codes understood by the addon. */
export const NATIVE_BINARY_CODES = { add: 0, sub: 1, mul: 2, div: 3, max: 4, min: 5 } as const;

type F32 = Float32Array;
type I32 = Int32Array;

/** The functions the compiled addon exports. All calls are synchronous; large ones use the addon's thread pool. */
export interface NativeAddon {
  /** The instruction set the kernels run with now. */
  isa(): NativeIsa;
  /** Switch the kernel set (must be one of supportedIsas()); returns the ISA now in use. */
  setIsa(isa: NativeIsa): NativeIsa;
  /** Kernel sets this CPU and build can run, best first. */
  supportedIsas(): NativeIsa[];
  numThreads(): number;
  setNumThreads(n: number): void;
  /**
   * The arithmetic peak (GFLOP/s) of the current ISA on numThreads() threads: independent
   * vector multiply-add chains, best of several runs within about `seconds`. For rooflines.
   */
  peakGflops(seconds: number): number;
  /** Linux: SIGKILL this process when its parent dies (bin/tsformer.js's restarted child); whether it is armed. */
  followParent(pid: number): boolean;
  gemm(transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
    a: F32, aOffset: number, lda: number, strideA: number,
    b: F32, bOffset: number, ldb: number, strideB: number,
    beta: number, c: F32, cOffset: number, ldc: number, strideC: number, batch: number, bias?: F32 | null,
    addend?: F32 | null): void;
  embedding(weight: F32, ids: Int32Array, cols: number, out: F32): void;
  embeddingBackward(grad: F32, ids: Int32Array, cols: number, dweight: F32): void;
  softmax(x: F32, rows: number, cols: number, out: F32): void;
  softmaxBackward(y: F32, dy: F32, rows: number, cols: number, dx: F32): void;
  logSoftmax(x: F32, rows: number, cols: number, out: F32): void;
  logSoftmaxBackward(y: F32, dy: F32, rows: number, cols: number, dx: F32): void;
  layerNorm(x: F32, gamma: F32 | null, beta: F32 | null, rows: number, cols: number, eps: number,
    out: F32, mean: F32, rstd: F32): void;
  layerNormBackward(x: F32, gamma: F32 | null, mean: F32, rstd: F32, dy: F32, rows: number, cols: number,
    dx: F32, dgamma: F32 | null, dbeta: F32 | null, dxAddend?: F32 | null): void;
  crossEntropy(logits: F32, targets: I32, rows: number, cols: number, ignoreIndex: number,
    labelSmoothing: number, loss: F32, dlogits: F32 | null, gradScale: number): void;
  adamw(param: F32, grad: F32, m: F32, v: F32, lr: number, beta1: number, beta2: number, eps: number,
    weightDecay: number, step: number): void;
  /** op: a NATIVE_UNARY_CODES value; processes x.length elements. */
  unary(op: number, x: F32, out: F32): void;
  unaryBackward(op: number, x: F32, y: F32, dy: F32, dx: F32): void;
  /**
   * op: a NATIVE_BINARY_CODES value. mode 0: out[i] = a[i] op b[i % b.length];
   * mode 1: out[i] = a[i] op b[floor(i / inner) % b.length]. Processes out.length elements.
   */
  binary(op: number, a: F32, b: F32, out: F32, mode: 0 | 1, inner: number): void;
  /** Sum over the middle axis of [outer, size, inner]. */
  reduceSum(x: F32, outer: number, size: number, inner: number, out: F32): void;
  /** 1 to 3 spatial dims. */
  im2col(x: F32, xOffset: number, channels: number, spatial: number[], kernel: number[], stride: number[],
    padding: number[], dilation: number[], outSpatial: number[], cols: F32): void;
  col2im(cols: F32, channels: number, spatial: number[], kernel: number[], stride: number[],
    padding: number[], dilation: number[], outSpatial: number[], dx: F32, dxOffset: number): void;
  attention(q: F32, k: F32, v: F32, bh: number, tq: number, tk: number, d: number, dv: number, scale: number,
    causal: boolean, mask: F32 | null, maskBatch: number, maskHeadDiv: number, out: F32, lse: F32, heads: number,
    ldq?: number, ldk?: number, ldv?: number): void;
  attentionBackward(q: F32, k: F32, v: F32, bh: number, tq: number, tk: number, d: number, dv: number,
    scale: number, causal: boolean, mask: F32 | null, maskBatch: number, maskHeadDiv: number, out: F32, lse: F32,
    gradOut: F32, gradQ: F32, gradK: F32, gradV: F32, heads: number, ldq?: number, ldk?: number, ldv?: number): void;
}

const ADDON_FILE = "tsformer_native.node";

/** The package root: the nearest folder above this file holding tsformer's package.json. */
export function packageRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // compiled: dist/src/backend/native/addon.js -> ../../../../
  const candidates = [resolve(here, "../../../.."), resolve(here, "../../..")];
  let dir = here;
  for (let i = 0; i < 8; i++) {
    candidates.push(dir);
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  for (const c of candidates) {
    try {
      const pkg = JSON.parse(readFileSync(join(c, "package.json"), "utf8")) as { name?: string };
      if (pkg.name === "tsformer") return c;
    } catch {
      // not here
    }
  }
  return candidates[0];
}

/** Where the addon is looked for, in order. */
export function addonCandidates(): string[] {
  const root = packageRoot();
  return [
    join(root, "prebuilds", `${process.platform}-${process.arch}`, ADDON_FILE),
    join(root, "build", "Release", ADDON_FILE),
  ];
}

let loaded: NativeAddon | null | undefined;
let loadError: string | null = null;

/** The addon, or null when it is not built or does not load here (see addonLoadError()). */
export function loadAddon(): NativeAddon | null {
  if (loaded !== undefined) return loaded;
  loaded = null;
  if (typeof process === "undefined" || !process.versions?.node) {
    loadError = "not running in Node.js";
    return null;
  }
  const require = createRequire(import.meta.url);
  const errors: string[] = [];
  for (const file of addonCandidates()) {
    if (!existsSync(file)) continue;
    try {
      const mod = require(file) as NativeAddon;
      if (typeof mod?.gemm !== "function") throw new Error("it does not export gemm()");
      loaded = mod;
      loadError = null;
      return mod;
    } catch (e) {
      errors.push(`${file}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const root = packageRoot();
  let reason = errors.length
    ? `the native addon failed to load (${errors.join("; ")})`
    : `the native addon is not built (no ${join("build", "Release", ADDON_FILE)}; run \`npm run build:native\`)`;
  const errFile = join(root, "build", "native-build-error.txt");
  try {
    if (existsSync(errFile)) {
      const text = readFileSync(errFile, "utf8").trim();
      if (text) reason += `; build error: ${text.length > 2000 ? `${text.slice(0, 2000)}...` : text}`;
    }
  } catch {
    // ignore
  }
  loadError = reason;
  return null;
}

/** Why loadAddon() returned null, or null when it loaded (or was not tried yet). */
export function addonLoadError(): string | null {
  if (loaded === undefined) loadAddon();
  return loadError;
}
