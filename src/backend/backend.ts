// The Backend interface: every numeric kernel tsformer runs goes through one of these methods.
// Kernels work on flat, row-major typed arrays (never on Tensors), so a backend knows nothing
// about autograd. The `js` backend is the reference; `native` overrides the hot kernels.

export type F32 = Float32Array;
export type I32 = Int32Array;
export type Data = Float32Array | Int32Array;

export type UnaryOp =
  | "neg" | "exp" | "log" | "sqrt" | "rsqrt" | "abs" | "tanh" | "sigmoid" | "relu"
  | "gelu" | "geluTanh" | "silu" | "sin" | "cos" | "square" | "reciprocal" | "sign";

export type BinaryOp =
  | "add" | "sub" | "mul" | "div" | "pow" | "max" | "min"
  | "eq" | "ne" | "lt" | "le" | "gt" | "ge";

/**
 * Batched GEMM: for each b < batch,
 *   C_b = alpha * op(A_b) @ op(B_b) + beta * C_b
 * where op(X) = X^T when the trans flag is set. Row-major. A_b starts at aOffset + b*strideA
 * (a stride of 0 broadcasts one matrix over the batch). op(A_b) is m x k, op(B_b) is k x n,
 * C_b is m x n with row stride ldc.
 */
export interface GemmArgs {
  transA: boolean;
  transB: boolean;
  m: number;
  n: number;
  k: number;
  alpha: number;
  a: F32; aOffset: number; lda: number; strideA: number;
  b: F32; bOffset: number; ldb: number; strideB: number;
  beta: number;
  c: F32; cOffset: number; ldc: number; strideC: number;
  batch: number;
  /** Optional [n] row added to every row of each C_b: C = alpha op(A) op(B) + beta C + bias (a Linear layer's bias, fused). */
  bias?: F32 | null;
  /**
   * Optional array laid out like C (cOffset, ldc, strideC; not C itself) added to the result:
   * C = alpha op(A) op(B) + beta C + bias + addend (a residual connection, fused: the output is
   * written once, the residual read once).
   */
  addend?: F32 | null;
}

/**
 * Scaled dot-product attention for bh = B*H heads. Layout: with heads = 0 (or absent) each
 * array is [BH, T, X] blocks (q [BH, Tq, D], k [BH, Tk, D], v [BH, Tk, Dv], out [BH, Tq, Dv]);
 * with heads = H > 0 each is [B, T, H, X] rows, the layout a Linear projection produces, so
 * multi-head attention needs no permute. lse is [BH, Tq] either way.
 */
export interface AttentionArgs {
  q: F32; k: F32; v: F32;
  bh: number; tq: number; tk: number; d: number; dv: number;
  heads?: number;
  /**
   * Row strides of q, k and v (and of gradQ, gradK, gradV) in the [B, T, H, X] layout; default
   * H*D, H*D, H*Dv. Larger strides read q, k and v out of one packed projection [B, T, 3C]
   * (each array a view starting at its own columns) without splitting it.
   */
  ldq?: number; ldk?: number; ldv?: number;
  scale: number;
  causal: boolean;
  /** Optional additive mask, broadcast as [maskBatch, Tq, Tk] where head index bh maps to
   * floor(bh / maskHeadDiv) % maskBatch; -Infinity entries exclude a key. */
  mask: F32 | null; maskBatch: number; maskHeadDiv: number;
  out: F32;
  /** Row log-sum-exp of the scaled scores, saved for the backward pass: [BH, Tq]. */
  lse: F32;
}

export interface AttentionBackwardArgs extends AttentionArgs {
  /** Gradient of the output (out's layout); gradients written to gradQ/gradK/gradV (overwritten). */
  gradOut: F32;
  gradQ: F32; gradK: F32; gradV: F32;
}

export interface Backend {
  readonly name: string;

  // --- elementwise -------------------------------------------------------------------------
  unary(op: UnaryOp, x: F32, out: F32): void;
  /** dx = dy * f'(x) (y = f(x) given too, for ops whose derivative is cheaper from y). */
  unaryBackward(op: UnaryOp, x: F32, y: F32, dy: F32, dx: F32): void;
  /** out = a (op) b with NumPy broadcasting; shapes already aligned to outShape's rank. */
  binary(op: BinaryOp, a: Data, aShape: number[], b: Data, bShape: number[], out: Data, outShape: number[]): void;
  /** out[i] = a[i] + alpha * b[i] (same length), in place when out === a. */
  axpy(a: F32, b: F32, alpha: number, out: F32): void;
  fill(out: Data, value: number): void;

  // --- layout ------------------------------------------------------------------------------
  /** out = x permuted: x has `shape`, out has shape[perm[i]] along axis i. */
  permute(x: Data, shape: number[], perm: number[], out: Data): void;

  // --- reductions over the middle axis of [outer, size, inner] -------------------------------
  reduce(op: "sum" | "max" | "min", x: F32, outer: number, size: number, inner: number, out: F32): void;
  argReduce(op: "argmax" | "argmin", x: F32, outer: number, size: number, inner: number, out: I32): void;

  // --- matrix multiply ---------------------------------------------------------------------
  gemm(args: GemmArgs): void;

  // --- fused row-wise kernels over [rows, cols] ----------------------------------------------
  softmax(x: F32, rows: number, cols: number, out: F32): void;
  softmaxBackward(y: F32, dy: F32, rows: number, cols: number, dx: F32): void;
  logSoftmax(x: F32, rows: number, cols: number, out: F32): void;
  logSoftmaxBackward(y: F32, dy: F32, rows: number, cols: number, dx: F32): void;
  layerNorm(x: F32, gamma: F32 | null, beta: F32 | null, rows: number, cols: number, eps: number,
    out: F32, mean: F32, rstd: F32): void;
  /** dx = the input's gradient (+ dxAddend: a gradient already summed for x by its other consumers). */
  layerNormBackward(x: F32, gamma: F32 | null, mean: F32, rstd: F32, dy: F32, rows: number, cols: number,
    dx: F32, dgamma: F32 | null, dbeta: F32 | null, dxAddend?: F32 | null): void;
  /**
   * Softmax cross-entropy per row. targets[r] < 0 or === ignoreIndex rows are skipped (loss 0).
   * With label smoothing eps the target distribution is (1-eps)*onehot + eps/cols.
   * Writes loss per row and, when dlogits is given, the gradient of the per-row loss
   * (softmax - target distribution) scaled by gradScale[r] (0 on ignored rows).
   */
  crossEntropy(logits: F32, targets: I32, rows: number, cols: number, ignoreIndex: number,
    labelSmoothing: number, loss: F32, dlogits: F32 | null, gradScale: number): void;

  // --- embeddings ----------------------------------------------------------------------------
  /** out row i = weight row ids[i] (weight [V, cols]; the caller has checked every id is in [0, V)). */
  embedding(weight: F32, ids: I32, cols: number, out: F32): void;
  /** dweight row ids[i] += grad row i: the gradient of embedding (repeated ids add up). */
  embeddingBackward(grad: F32, ids: I32, cols: number, dweight: F32): void;

  // --- convolution helpers -----------------------------------------------------------------
  /** im2col for N-d convolution of one image: x [C, ...spatial] -> cols [C*prod(kernel), prod(outSpatial)]. */
  im2col(x: F32, xOffset: number, channels: number, spatial: number[], kernel: number[], stride: number[],
    padding: number[], dilation: number[], outSpatial: number[], cols: F32): void;
  /** Adjoint of im2col: accumulates cols back into dx (which must be zeroed by the caller). */
  col2im(cols: F32, channels: number, spatial: number[], kernel: number[], stride: number[],
    padding: number[], dilation: number[], outSpatial: number[], dx: F32, dxOffset: number): void;

  // --- attention -----------------------------------------------------------------------------
  attention(args: AttentionArgs): void;
  attentionBackward(args: AttentionBackwardArgs): void;

  // --- optimizers ----------------------------------------------------------------------------
  /** One AdamW step in place (decoupled weight decay, bias-corrected moments). */
  adamw(param: F32, grad: F32, m: F32, v: F32, lr: number, beta1: number, beta2: number, eps: number,
    weightDecay: number, step: number): void;
}

// --- registry ----------------------------------------------------------------------------------

const registry = new Map<string, () => Backend | null>();
let current: Backend | null = null;

/** Backends register a factory; the factory returns null when the backend cannot load here. */
export function registerBackend(name: string, factory: () => Backend | null): void {
  registry.set(name, factory);
}

export function availableBackends(): string[] {
  return [...registry.keys()].filter((n) => {
    try { return registry.get(n)!() !== null; } catch { return false; }
  });
}

/** Choose the backend every later op runs on: "js", "native", ... */
export function setBackend(name: string): Backend {
  const factory = registry.get(name);
  if (!factory) {
    throw new Error(`setBackend: unknown backend "${name}"; known: ${[...registry.keys()].join(", ")}`);
  }
  const b = factory();
  if (!b) throw new Error(`setBackend: backend "${name}" is not available on this machine`);
  current = b;
  return b;
}

/** Order of preference when nothing was chosen: TSFORMER_BACKEND, then native, then js. */
const preference = ["native", "js"];

export function getBackend(): Backend {
  if (current) return current;
  const env = typeof process !== "undefined" ? process.env?.TSFORMER_BACKEND : undefined;
  if (env) return setBackend(env);
  for (const name of preference) {
    const f = registry.get(name);
    const b = f ? f() : null;
    if (b) { current = b; return b; }
  }
  throw new Error("getBackend: no backend registered");
}

/** Run fn on the named backend, then switch back to the one before (even if fn throws). */
export function withBackend<T>(name: string, fn: () => T): T {
  const prev = getBackend();
  setBackend(name);
  try {
    return fn();
  } finally {
    current = prev;
  }
}

export function backendName(): string {
  return getBackend().name;
}
