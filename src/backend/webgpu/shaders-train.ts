// WGSL kernels for training on the GPU: the backward passes of the forward kernels in
// shaders.ts (unary, layer norm, attention), softmax cross-entropy with its gradient, and the
// layout kernels a model's forward and backward need (permute, strided block copies that also
// add, column sums). Same conventions as shaders.ts: sizes and scalars in `p`, 256 threads per
// workgroup on a 2-D grid.
//
// WebGPU guarantees only 8 storage buffers per shader stage, so the attention backward kernels
// read their parameters from a uniform buffer instead (`P(i)`), which leaves 8 storage slots for
// arrays, and the backward pass is split into four kernels of at most 8 arrays each.

import { ATTENTION_MAX_DV, MATH, header } from "./shaders.js";

/** dx = dy * f'(x) for the unary ops that models train through. p: n op (UNARY_CODES). */
export const UNARY_BACKWARD = header + MATH + /* wgsl */ `
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> DY: array<f32>;
@group(0) @binding(3) var<storage, read_write> DX: array<f32>;
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
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let i = gindex(gid, nw);
  if (i >= p[0]) { return; }
  DX[i] = DY[i] * df(p[1], X[i]);
}`;

/** Codes of the unary ops UNARY_BACKWARD differentiates (the others have no use in training here). */
export const UNARY_BACKWARD_OPS = ["tanh", "sigmoid", "relu", "gelu", "geluTanh", "silu"] as const;

/**
 * Layer norm backward for x, one row per thread:
 * dx = rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dy * gamma, xhat = (x - mean) * rstd.
 * p: rows cols hasGamma.
 */
export const LAYER_NORM_BACKWARD = header + /* wgsl */ `
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
@group(0) @binding(3) var<storage, read> Mean: array<f32>;
@group(0) @binding(4) var<storage, read> Rstd: array<f32>;
@group(0) @binding(5) var<storage, read> DY: array<f32>;
@group(0) @binding(6) var<storage, read_write> DX: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let r = gindex(gid, nw);
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
}`;

/**
 * Layer norm's parameter gradients, first stage: thread (chunk c, column j) sums dy * xhat and
 * dy over rows [c*chunk, (c+1)*chunk), writing partial sums [chunks, cols] that a REDUCE over
 * chunks finishes. Two stages keep every thread's loop short (one thread per column would walk
 * all rows serially). p: rows cols chunk.
 */
export const LAYER_NORM_PARAM_GRADS = header + /* wgsl */ `
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> Mean: array<f32>;
@group(0) @binding(3) var<storage, read> Rstd: array<f32>;
@group(0) @binding(4) var<storage, read> DY: array<f32>;
@group(0) @binding(5) var<storage, read_write> PG: array<f32>;
@group(0) @binding(6) var<storage, read_write> PB: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let i = gindex(gid, nw);
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
}`;

/** Column sums, first stage (as LAYER_NORM_PARAM_GRADS): partial[c, j] = sum of x[r, j] over chunk c. p: rows cols chunk. */
export const COLUMN_SUM = header + /* wgsl */ `
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let i = gindex(gid, nw);
  let rows = p[0]; let cols = p[1]; let chunk = p[2];
  let chunks = (rows + chunk - 1u) / chunk;
  if (i >= chunks * cols) { return; }
  let c = i / cols; let j = i % cols;
  var s = 0.0;
  for (var r = c * chunk; r < min(rows, (c + 1u) * chunk); r++) { s += X[r * cols + j]; }
  Y[i] = s;
}`;

/**
 * Softmax cross-entropy per row with its gradient (targets as floats; a negative target skips
 * the row): loss[r] = logsumexp(x_r) - x_r[t], dx_r = (softmax(x_r) - onehot(t)) * scale.
 * p: rows cols scale.
 */
export const CROSS_ENTROPY = header + /* wgsl */ `
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> Tg: array<f32>;
@group(0) @binding(3) var<storage, read_write> Loss: array<f32>;
@group(0) @binding(4) var<storage, read_write> DX: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let r = gindex(gid, nw);
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
}`;

/** Most axes PERMUTE handles. */
export const PERMUTE_MAX_RANK = 8;

/** out = x permuted. p: n rank outShape[rank] inStride[rank] (x's stride along the axis that
 * becomes out's axis d). */
export const PERMUTE = header + /* wgsl */ `
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let i = gindex(gid, nw);
  if (i >= p[0]) { return; }
  let rank = p[1];
  var rest = i; var xi = 0u;
  for (var d = rank; d > 0u; d--) {
    let size = p[2u + d - 1u];
    xi += (rest % size) * p[2u + rank + d - 1u];
    rest = rest / size;
  }
  Y[i] = X[xi];
}`;

/**
 * Strided block copy, batched: for b < batch, r < rows, c < cols,
 * Y[yOff + b*yB + r*yR + c] (+)= X[xOff + b*xB + r*xR + c]; a stride of 0 repeats a source
 * block (a bias over rows, a [CLS] token over the batch). With `add` set it accumulates, which
 * is also a residual connection and gradient accumulation. X and Y must be different arrays.
 * p: batch rows cols xOff xB xR yOff yB yR add.
 */
export const COPY_BLOCKS = header + /* wgsl */ `
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let i = gindex(gid, nw);
  let rows = p[1]; let cols = p[2];
  if (i >= p[0] * rows * cols) { return; }
  let c = i % cols; let r = (i / cols) % rows; let b = i / (cols * rows);
  let x = X[p[3] + b * p[4] + r * p[5] + c];
  let yi = p[6] + b * p[7] + r * p[8] + c;
  if (p[9] != 0u) { Y[yi] = Y[yi] + x; } else { Y[yi] = x; }
}`;

/** rowDot[r] = sum_c a[r, c] * b[r, c] over [rows, cols]. p: rows cols. */
export const ROW_DOT = header + /* wgsl */ `
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let r = gindex(gid, nw);
  let cols = p[1];
  if (r >= p[0]) { return; }
  var s = 0.0;
  for (var c = 0u; c < cols; c++) { s = fma(A[r * cols + c], B[r * cols + c], s); }
  Y[r] = s;
}`;

/** Parameters from a uniform buffer (4 vec4 = 16 words, 64 bytes), for kernels that need all 8 storage slots. */
const uniformHeader = /* wgsl */ `
@group(0) @binding(0) var<uniform> pu: array<vec4<u32>, 4>;
fn P(i: u32) -> u32 { return pu[i / 4u][i % 4u]; }
fn PF(i: u32) -> f32 { return bitcast<f32>(P(i)); }
fn inf() -> f32 { var bits = 0x7f800000u; return bitcast<f32>(bits); }
// offset of row t of head h in an array of rows of x values per head (AttentionArgs' layouts)
fn at(h: u32, t: u32, T: u32, x: u32) -> u32 {
  let H = P(5u);
  if (H == 0u) { return (h * T + t) * x; }
  return (((h / H) * T + t) * H + h % H) * x;
}
// the attention weight of key j for query i of head h, recomputed from the saved log-sum-exp
// (0 for a masked or causally hidden key, or a fully masked row)
fn weight(h: u32, i: u32, j: u32) -> f32 {
  let tq = P(1u); let tk = P(2u); let d = P(3u);
  if (P(7u) != 0u && j + tq > i + tk) { return 0.0; }
  let l = Lse[h * tq + i];
  if (l == inf()) { return 0.0; }
  let qo = at(h, i, tq, d); let ko = at(h, j, tk, d);
  var s = 0.0;
  for (var c = 0u; c < d; c++) { s = fma(Q[qo + c], K[ko + c], s); }
  s *= PF(6u);
  if (P(8u) != 0u) { s += Mask[(((h / P(10u)) % P(9u)) * tq + i) * tk + j]; }
  if (s == -inf()) { return 0.0; }
  return exp(s - l);
}
`;

const attentionInputs = /* wgsl */ `
@group(0) @binding(1) var<storage, read> Q: array<f32>;
@group(0) @binding(2) var<storage, read> K: array<f32>;
@group(0) @binding(3) var<storage, read> Mask: array<f32>;
@group(0) @binding(4) var<storage, read> Lse: array<f32>;
@group(0) @binding(5) var<storage, read> DO: array<f32>;
`;

/**
 * Attention backward (the flash-attention backward's algebra, without tiling): with
 * P = softmax(S), S = scale Q K^T + mask, and Dd_i = dO_i . O_i (ROW_DOT, in O's row order):
 *   dV_j = sum_i P_ij dO_i,   dS_ij = P_ij (dO_i . V_j - Dd_i),
 *   dQ_i = scale sum_j dS_ij K_j,   dK_j = scale sum_i dS_ij Q_i.
 * P is recomputed from the saved log-sum-exp. dQ runs one query row per thread; dK and dV one
 * key row per thread, so no two threads write the same value (WGSL has no float atomics).
 * P: bh tq tk d dv heads scale causal hasMask maskBatch maskHeadDiv (as ATTENTION).
 */
export const ATTENTION_BACKWARD_Q = uniformHeader.replace("fn weight", attentionInputs + "fn weight") + /* wgsl */ `
@group(0) @binding(6) var<storage, read> V: array<f32>;
@group(0) @binding(7) var<storage, read> Dd: array<f32>;
@group(0) @binding(8) var<storage, read_write> DQ: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let idx = gid.x + gid.y * nw.x * 64u;
  let tq = P(1u); let tk = P(2u); let d = P(3u); let dv = P(4u);
  if (idx >= P(0u) * tq) { return; }
  let h = idx / tq; let i = idx % tq;
  let oo = at(h, i, tq, dv);
  let di = Dd[oo / dv];
  var acc: array<f32, ${ATTENTION_MAX_DV}>;
  for (var j = 0u; j < tk; j++) {
    let w = weight(h, i, j);
    if (w == 0.0) { continue; }
    let vo = at(h, j, tk, dv);
    var dp = 0.0;
    for (var c = 0u; c < dv; c++) { dp = fma(DO[oo + c], V[vo + c], dp); }
    let ds = w * (dp - di);
    let ko = at(h, j, tk, d);
    for (var c = 0u; c < d; c++) { acc[c] = fma(ds, K[ko + c], acc[c]); }
  }
  let qo = at(h, i, tq, d);
  for (var c = 0u; c < d; c++) { DQ[qo + c] = acc[c] * PF(6u); }
}`;

/** dK, one key row per thread (see ATTENTION_BACKWARD_Q). */
export const ATTENTION_BACKWARD_K = uniformHeader.replace("fn weight", attentionInputs + "fn weight") + /* wgsl */ `
@group(0) @binding(6) var<storage, read> V: array<f32>;
@group(0) @binding(7) var<storage, read> Dd: array<f32>;
@group(0) @binding(8) var<storage, read_write> DK: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let idx = gid.x + gid.y * nw.x * 64u;
  let tq = P(1u); let tk = P(2u); let d = P(3u); let dv = P(4u);
  if (idx >= P(0u) * tk) { return; }
  let h = idx / tk; let j = idx % tk;
  let vo = at(h, j, tk, dv);
  var acc: array<f32, ${ATTENTION_MAX_DV}>;
  for (var i = 0u; i < tq; i++) {
    let w = weight(h, i, j);
    if (w == 0.0) { continue; }
    let oo = at(h, i, tq, dv);
    var dp = 0.0;
    for (var c = 0u; c < dv; c++) { dp = fma(DO[oo + c], V[vo + c], dp); }
    let ds = w * (dp - Dd[oo / dv]);
    let qo = at(h, i, tq, d);
    for (var c = 0u; c < d; c++) { acc[c] = fma(ds, Q[qo + c], acc[c]); }
  }
  let ko = at(h, j, tk, d);
  for (var c = 0u; c < d; c++) { DK[ko + c] = acc[c] * PF(6u); }
}`;

/** dV, one key row per thread (see ATTENTION_BACKWARD_Q). */
export const ATTENTION_BACKWARD_V = uniformHeader.replace("fn weight", attentionInputs + "fn weight") + /* wgsl */ `
@group(0) @binding(6) var<storage, read_write> DV: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let idx = gid.x + gid.y * nw.x * 64u;
  let tq = P(1u); let tk = P(2u); let dv = P(4u);
  if (idx >= P(0u) * tk) { return; }
  let h = idx / tk; let j = idx % tk;
  var acc: array<f32, ${ATTENTION_MAX_DV}>;
  for (var i = 0u; i < tq; i++) {
    let w = weight(h, i, j);
    if (w == 0.0) { continue; }
    let oo = at(h, i, tq, dv);
    for (var c = 0u; c < dv; c++) { acc[c] = fma(w, DO[oo + c], acc[c]); }
  }
  let vo = at(h, j, tk, dv);
  for (var c = 0u; c < dv; c++) { DV[vo + c] = acc[c]; }
}`;
