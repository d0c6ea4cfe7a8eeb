// WGSL kernels for training on the GPU: the backward passes of the forward kernels in
// shaders.ts (unary, layer norm, attention), softmax cross-entropy with its gradient, and the
// layout kernels a model's forward and backward need (permute, strided block copies that also
// add, column sums). Same conventions as shaders.ts: sizes and scalars in `p`, 256 threads per
// workgroup on a 2-D grid.
//
// WebGPU guarantees only 8 storage buffers per shader stage, so the attention backward kernels
// read their parameters from a uniform buffer instead (`P(i)`), which leaves 8 storage slots for
// arrays, and the backward pass is split into four kernels of at most 8 arrays each.

import { MATH, attentionWidths, kernel1d } from "./shaders.js";

/** dx = dy * f'(x) for the unary ops that models train through. p: n op (UNARY_CODES). */
export const UNARY_BACKWARD = kernel1d([["X", "read"], ["DY", "read"], ["DX", "read_write"]], /* wgsl */ `
  if (i >= p[0]) { return; }
  DX[i] = DY[i] * df(p[1], X[i]);
`, MATH + /* wgsl */ `
fn df(op: u32, x: f32) -> f32 {
  switch op {
    case 6u: { let t = tanh_(x); return 1.0 - t * t; }
    case 7u: { let s = 1.0 / (1.0 + exp(-x)); return s * (1.0 - s); }
    case 8u: { return select(0.0, 1.0, x > 0.0); }
    // d/dx x Phi(x) = Phi(x) + x phi(x)
    case 9u: { return 0.5 * (1.0 + erf(x * 0.7071067811865476)) + x * 0.3989422804014327 * exp(-0.5 * x * x); }
    case 10u: {
      let u = 0.7978845608028654 * (x + 0.044715 * x * x * x);
      let t = tanh_(u);
      return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * 0.7978845608028654 * (1.0 + 3.0 * 0.044715 * x * x);
    }
    default: { let s = 1.0 / (1.0 + exp(-x)); return s * (1.0 + x * (1.0 - s)); } // silu
  }
}
`);

/** Codes of the unary ops UNARY_BACKWARD differentiates (the others have no use in training here). */
export const UNARY_BACKWARD_OPS = ["tanh", "sigmoid", "relu", "gelu", "geluTanh", "silu"] as const;

/**
 * Layer norm backward for x, one row per thread:
 * dx = rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dy * gamma, xhat = (x - mean) * rstd.
 * p: rows cols hasGamma.
 */
export const LAYER_NORM_BACKWARD = kernel1d([["X", "read"], ["G", "read"], ["Mean", "read"], ["Rstd", "read"], ["DY", "read"], ["DX", "read_write"]], /* wgsl */ `
  let r = i;
  let cols = p[1];
  if (r >= p[0]) { return; }
  let o = r * cols; let mean = Mean[r]; let rstd = Rstd[r];
  var sg = 0.0; var sgx = 0.0;
  for (var j = 0u; j < cols; j++) {
    var g = DY[o + j];
    if (p[2] != 0u) { g *= G[j]; }
    sg += g; sgx += g * (X[o + j] - mean) * rstd;
  }
  sg /= f32(cols); sgx /= f32(cols);
  for (var j = 0u; j < cols; j++) {
    var g = DY[o + j];
    if (p[2] != 0u) { g *= G[j]; }
    DX[o + j] = rstd * (g - sg - (X[o + j] - mean) * rstd * sgx);
  }
`);

/**
 * Layer norm's parameter gradients, first stage: thread (chunk c, column j) sums dy * xhat and
 * dy over rows [c*chunk, (c+1)*chunk), writing partial sums [chunks, cols] that a REDUCE over
 * chunks finishes. Two stages keep every thread's loop short (one thread per column would walk
 * all rows serially). p: rows cols chunk.
 */
export const LAYER_NORM_PARAM_GRADS = kernel1d([["X", "read"], ["Mean", "read"], ["Rstd", "read"], ["DY", "read"], ["PG", "read_write"], ["PB", "read_write"]], /* wgsl */ `
  let rows = p[0]; let cols = p[1]; let chunk = p[2];
  let chunks = (rows + chunk - 1u) / chunk;
  if (i >= chunks * cols) { return; }
  let c = i / cols; let j = i % cols;
  var dg = 0.0; var db = 0.0;
  for (var r = c * chunk; r < min(rows, (c + 1u) * chunk); r++) {
    let dy = DY[r * cols + j];
    dg += dy * (X[r * cols + j] - Mean[r]) * Rstd[r];
    db += dy;
  }
  PG[i] = dg; PB[i] = db;
`);

/** Column sums, first stage (as LAYER_NORM_PARAM_GRADS): partial[c, j] = sum of x[r, j] over chunk c. p: rows cols chunk. */
export const COLUMN_SUM = kernel1d([["X", "read"], ["Y", "read_write"]], /* wgsl */ `
  let rows = p[0]; let cols = p[1]; let chunk = p[2];
  let chunks = (rows + chunk - 1u) / chunk;
  if (i >= chunks * cols) { return; }
  let c = i / cols; let j = i % cols;
  var s = 0.0;
  for (var r = c * chunk; r < min(rows, (c + 1u) * chunk); r++) { s += X[r * cols + j]; }
  Y[i] = s;
`);

/**
 * Softmax cross-entropy per row with its gradient (targets as floats; a negative target skips
 * the row): loss[r] = logsumexp(x_r) - x_r[t], dx_r = (softmax(x_r) - onehot(t)) * scale.
 * p: rows cols scale.
 */
export const CROSS_ENTROPY = kernel1d([["X", "read"], ["Tg", "read"], ["Loss", "read_write"], ["DX", "read_write"]], /* wgsl */ `
  let r = i;
  let cols = p[1];
  if (r >= p[0]) { return; }
  let o = r * cols;
  let t = Tg[r];
  if (t < 0.0) {
    Loss[r] = 0.0;
    for (var j = 0u; j < cols; j++) { DX[o + j] = 0.0; }
    return;
  }
  let ti = u32(t);
  var mx = -inf();
  for (var j = 0u; j < cols; j++) { mx = max(mx, X[o + j]); }
  var sum = 0.0;
  for (var j = 0u; j < cols; j++) { sum += exp(X[o + j] - mx); }
  let lse = mx + log(sum);
  Loss[r] = lse - X[o + ti];
  for (var j = 0u; j < cols; j++) {
    DX[o + j] = (exp(X[o + j] - lse) - select(0.0, 1.0, j == ti)) * pf(2);
  }
`);

/** Most axes PERMUTE handles. */
export const PERMUTE_MAX_RANK = 8;

/** out = x permuted. p: n rank outShape[rank] inStride[rank] (x's stride along the axis that
 * becomes out's axis d). */
export const PERMUTE = kernel1d([["X", "read"], ["Y", "read_write"]], /* wgsl */ `
  if (i >= p[0]) { return; }
  let rank = p[1];
  var rest = i; var xi = 0u;
  for (var d = rank; d > 0u; d--) {
    let size = p[2u + d - 1u];
    xi += (rest % size) * p[2u + rank + d - 1u];
    rest = rest / size;
  }
  Y[i] = X[xi];
`);

/**
 * Strided block copy, batched: for b < batch, r < rows, c < cols,
 * Y[yOff + b*yB + r*yR + c] (+)= X[xOff + b*xB + r*xR + c]; a stride of 0 repeats a source
 * block (a bias over rows, a [CLS] token over the batch). With `add` set it accumulates, which
 * is also a residual connection and gradient accumulation. X and Y must be different arrays.
 * p: batch rows cols xOff xB xR yOff yB yR add.
 */
export const COPY_BLOCKS = kernel1d([["X", "read"], ["Y", "read_write"]], /* wgsl */ `
  let rows = p[1]; let cols = p[2];
  if (i >= p[0] * rows * cols) { return; }
  let c = i % cols; let r = (i / cols) % rows; let b = i / (cols * rows);
  let x = X[p[3] + b * p[4] + r * p[5] + c];
  let yi = p[6] + b * p[7] + r * p[8] + c;
  if (p[9] != 0u) { Y[yi] = Y[yi] + x; } else { Y[yi] = x; }
`);

/** rowDot[r] = sum_c a[r, c] * b[r, c] over [rows, cols]. p: rows cols. */
export const ROW_DOT = kernel1d([["A", "read"], ["B", "read"], ["Y", "read_write"]], /* wgsl */ `
  let r = i;
  let cols = p[1];
  if (r >= p[0]) { return; }
  var s = 0.0;
  for (var c = 0u; c < cols; c++) { s = fma(A[r * cols + c], B[r * cols + c], s); }
  Y[r] = s;
`);

/** Parameters from a uniform buffer (4 vec4 = 16 words, 64 bytes), for kernels that need all
 * 8 storage slots, and what the three attention backward kernels share: the row of token t of
 * head h, and the attention weight from a raw score q.k. */
const attentionBackwardHeader = /* wgsl */ `
@group(0) @binding(0) var<uniform> pu: array<vec4<u32>, 4>;
fn P(i: u32) -> u32 { return pu[i / 4u][i % 4u]; }
fn PF(i: u32) -> f32 { return bitcast<f32>(P(i)); }
fn inf() -> f32 { var bits = 0x7f800000u; return bitcast<f32>(bits); }
// row of token t of head h: (h*T + t) in [BH, T, X] blocks, ((b*T + t)*H + h%H) in [B, T, H, X]
fn rowOf(h: u32, t: u32, T: u32) -> u32 {
  let H = P(5u);
  if (H == 0u) { return h * T + t; }
  return ((h / H) * T + t) * H + h % H;
}
// the attention weight of key j for query i of head h from the raw score q.k, recomputed with
// the saved log-sum-exp (0 for a masked or causally hidden key, or a fully masked row)
fn weight(h: u32, i: u32, j: u32, qk: f32) -> f32 {
  let tq = P(1u); let tk = P(2u);
  if (P(7u) != 0u && j + tq > i + tk) { return 0.0; }
  let l = Lse[h * tq + i];
  if (l == inf()) { return 0.0; }
  var s = qk * PF(6u);
  if (P(8u) != 0u) { s += Mask[(((h / P(10u)) % P(9u)) * tq + i) * tk + j]; }
  if (s == -inf()) { return 0.0; }
  return exp(s - l);
}
// the weight of key j (its row in kr) for query i, for the kernels that run one key per thread
fn keyWeight(h: u32, i: u32, j: u32, kr: ptr<function, array<f32, W>>) -> f32 {
  let qrow = rowOf(h, i, P(1u));
  var qk = 0.0;
  for (var c = 0u; c < dqk(); c++) { qk = fma(Q[qrow * dqk() + c], (*kr)[c], qk); }
  return weight(h, i, j, qk);
}
@group(0) @binding(1) var<storage, read> Q: array<f32>;
@group(0) @binding(2) var<storage, read> K: array<f32>;
@group(0) @binding(3) var<storage, read> Mask: array<f32>;
@group(0) @binding(4) var<storage, read> Lse: array<f32>;
@group(0) @binding(5) var<storage, read> DO: array<f32>;
`;

/** The start of main for one thread per query row (head h, query i) or key row (head h, key j). */
const threadPerRow = (rows: "query" | "key"): string => {
  const [T, t] = rows === "query" ? ["tq", "i"] : ["tk", "j"];
  return /* wgsl */ `@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let idx = gid.x + gid.y * nw.x * 64u;
  let tq = P(1u); let tk = P(2u);
  if (idx >= P(0u) * ${T}) { return; }
  let h = idx / ${T}; let ${t} = idx % ${T};`;
};

const attentionBackward = (body: string): string => attentionWidths((i) => `P(${i}u)`) + attentionBackwardHeader + body;

/**
 * Attention backward (the flash-attention backward's algebra, without tiling): with
 * P = softmax(S), S = scale Q K^T + mask, and Dd_i = dO_i . O_i (ROW_DOT, in O's row order):
 *   dV_j = sum_i P_ij dO_i,   dS_ij = P_ij (dO_i . V_j - Dd_i),
 *   dQ_i = scale sum_j dS_ij K_j,   dK_j = scale sum_i dS_ij Q_i.
 * P is recomputed from the saved log-sum-exp. dQ runs one query row per thread; dK and dV one
 * key row per thread, so no two threads write the same value (WGSL has no float atomics). Each
 * thread keeps its own rows in registers. P: bh tq tk d dv heads scale causal hasMask maskBatch
 * maskHeadDiv (as ATTENTION).
 */
export const ATTENTION_BACKWARD_Q = attentionBackward(/* wgsl */ `
@group(0) @binding(6) var<storage, read> V: array<f32>;
@group(0) @binding(7) var<storage, read> Dd: array<f32>;
@group(0) @binding(8) var<storage, read_write> DQ: array<f32>;
${threadPerRow("query")}
  let qrow = rowOf(h, i, tq);
  let di = Dd[qrow];
  var qr: array<f32, W>; var dor: array<f32, W>; var acc: array<f32, W>;
  for (var c = 0u; c < dqk(); c++) { qr[c] = Q[qrow * dqk() + c]; }
  for (var c = 0u; c < dvv(); c++) { dor[c] = DO[qrow * dvv() + c]; }
  for (var j = 0u; j < tk; j++) {
    let krow = rowOf(h, j, tk);
    var qk = 0.0;
    for (var c = 0u; c < dqk(); c++) { qk = fma(qr[c], K[krow * dqk() + c], qk); }
    let w = weight(h, i, j, qk);
    if (w == 0.0) { continue; }
    var dp = 0.0;
    for (var c = 0u; c < dvv(); c++) { dp = fma(dor[c], V[krow * dvv() + c], dp); }
    let ds = w * (dp - di);
    for (var c = 0u; c < dqk(); c++) { acc[c] = fma(ds, K[krow * dqk() + c], acc[c]); }
  }
  for (var c = 0u; c < dqk(); c++) { DQ[qrow * dqk() + c] = acc[c] * PF(6u); }
}`);

/** dK, one key row per thread (see ATTENTION_BACKWARD_Q). */
export const ATTENTION_BACKWARD_K = attentionBackward(/* wgsl */ `
@group(0) @binding(6) var<storage, read> V: array<f32>;
@group(0) @binding(7) var<storage, read> Dd: array<f32>;
@group(0) @binding(8) var<storage, read_write> DK: array<f32>;
${threadPerRow("key")}
  let krow = rowOf(h, j, tk);
  var kr: array<f32, W>; var vr: array<f32, W>; var acc: array<f32, W>;
  for (var c = 0u; c < dqk(); c++) { kr[c] = K[krow * dqk() + c]; }
  for (var c = 0u; c < dvv(); c++) { vr[c] = V[krow * dvv() + c]; }
  for (var i = 0u; i < tq; i++) {
    let qrow = rowOf(h, i, tq);
    let w = keyWeight(h, i, j, &kr);
    if (w == 0.0) { continue; }
    var dp = 0.0;
    for (var c = 0u; c < dvv(); c++) { dp = fma(DO[qrow * dvv() + c], vr[c], dp); }
    let ds = w * (dp - Dd[qrow]);
    for (var c = 0u; c < dqk(); c++) { acc[c] = fma(ds, Q[qrow * dqk() + c], acc[c]); }
  }
  for (var c = 0u; c < dqk(); c++) { DK[krow * dqk() + c] = acc[c] * PF(6u); }
}`);

/** dV, one key row per thread (see ATTENTION_BACKWARD_Q). */
export const ATTENTION_BACKWARD_V = attentionBackward(/* wgsl */ `
@group(0) @binding(6) var<storage, read_write> DV: array<f32>;
${threadPerRow("key")}
  let krow = rowOf(h, j, tk);
  var kr: array<f32, W>; var acc: array<f32, W>;
  for (var c = 0u; c < dqk(); c++) { kr[c] = K[krow * dqk() + c]; }
  for (var i = 0u; i < tq; i++) {
    let qrow = rowOf(h, i, tq);
    let w = keyWeight(h, i, j, &kr);
    if (w == 0.0) { continue; }
    for (var c = 0u; c < dvv(); c++) { acc[c] = fma(w, DO[qrow * dvv() + c], acc[c]); }
  }
  for (var c = 0u; c < dvv(); c++) { DV[krow * dvv() + c] = acc[c]; }
}`);
