// WGSL compute shaders, one per kernel of the Backend interface that the webgpu backend runs.
// Every shader reads its sizes and scalars from `p`, a small read-only storage array of u32
// (floats stored as their bits, read with `pf`), so one pipeline serves every size.
// 1-D kernels run 256 threads per workgroup on a 2-D grid of workgroups (the spec caps one
// dimension at 65535 groups); `gindex` flattens it.

export const header = /* wgsl */ `
@group(0) @binding(0) var<storage, read> p: array<u32>;
fn pf(i: u32) -> f32 { return bitcast<f32>(p[i]); }
fn gindex(gid: vec3<u32>, nw: vec3<u32>) -> u32 { return gid.x + gid.y * nw.x * 256u; }
// +Infinity at run time (WGSL's constant evaluation refuses to form infinities)
fn inf() -> f32 { var bits = 0x7f800000u; return bitcast<f32>(bits); }
`;

type Access = "read" | "read_write";

/**
 * A 1-D kernel: its f32 arrays bound from binding 1 in the order given, 256 threads per
 * workgroup, and `i` the thread's flat index; `body` is the rest of main's body.
 */
export function kernel1d(arrays: [name: string, access: Access][], body: string, prelude = ""): string {
  const bindings = arrays.map(([name, access], k) => `@group(0) @binding(${k + 1}) var<storage, ${access}> ${name}: array<f32>;`);
  return header + prelude + bindings.join("\n") + /* wgsl */ `
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let i = gindex(gid, nw);
${body}
}`;
}

/**
 * Batched, tiled SGEMM C_b = alpha op(A_b) op(B_b) + beta C_b (GemmArgs). A workgroup of 16x16
 * threads computes a TILE x TILE tile of C, each thread an R x R block (R = TILE/16) held in
 * registers; the K loop stages BK-wide slices of op(A) and op(B) in workgroup memory, so each
 * global value is read once per tile instead of once per product. Transposes change only the
 * load addresses, chosen so that neighbouring threads read neighbouring addresses (along k for a
 * row-major A or a transposed B); the staged rows are padded to TILE+1 floats so that those
 * stores do not all hit one memory bank.
 * p: m n k transA transB aOff lda strideA bOff ldb strideB cOff ldc strideC alpha beta.
 */
function gemmShader(tile: 64 | 128, bk: 16 | 8): string {
  const r = tile / 16, stride = tile + 1;
  return header + /* wgsl */ `
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;
var<workgroup> As: array<f32, ${bk * stride}>; // [${bk} k][${tile} rows of op(A)]
var<workgroup> Bs: array<f32, ${bk * stride}>; // [${bk} k][${tile} columns of op(B)]

fn loadA(ao: u32, i: u32, kk: u32) -> f32 {
  if (i >= p[0] || kk >= p[2]) { return 0.0; }
  if (p[3] != 0u) { return A[ao + kk * p[6] + i]; }
  return A[ao + i * p[6] + kk];
}
fn loadB(bo: u32, kk: u32, j: u32) -> f32 {
  if (kk >= p[2] || j >= p[1]) { return 0.0; }
  if (p[4] != 0u) { return B[bo + j * p[9] + kk]; }
  return B[bo + kk * p[9] + j];
}

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let m = p[0]; let n = p[1]; let k = p[2];
  let ao = p[5] + wg.z * p[7];
  let bo = p[8] + wg.z * p[10];
  let co = p[11] + wg.z * p[13];
  let row0 = wg.y * ${tile}u; let col0 = wg.x * ${tile}u;
  let tid = l.y * 16u + l.x;
  var acc: array<f32, ${r * r}>;
  for (var k0 = 0u; k0 < k; k0 += ${bk}u) {
    for (var e = 0u; e < ${(tile * bk) / 256}u; e++) {
      let idx = tid + e * 256u;
      var ka = idx / ${tile}u; var i = idx % ${tile}u;
      if (p[3] == 0u) { ka = idx % ${bk}u; i = idx / ${bk}u; }
      As[ka * ${stride}u + i] = loadA(ao, row0 + i, k0 + ka);
      var kb = idx / ${tile}u; var j = idx % ${tile}u;
      if (p[4] != 0u) { kb = idx % ${bk}u; j = idx / ${bk}u; }
      Bs[kb * ${stride}u + j] = loadB(bo, k0 + kb, col0 + j);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < ${bk}u; kk++) {
      var a: array<f32, ${r}>; var b: array<f32, ${r}>;
      for (var x = 0u; x < ${r}u; x++) { a[x] = As[kk * ${stride}u + l.y * ${r}u + x]; b[x] = Bs[kk * ${stride}u + l.x * ${r}u + x]; }
      for (var x = 0u; x < ${r}u; x++) {
        for (var y = 0u; y < ${r}u; y++) { acc[x * ${r}u + y] = fma(a[x], b[y], acc[x * ${r}u + y]); }
      }
    }
    workgroupBarrier();
  }
  let alpha = pf(14); let beta = pf(15);
  for (var x = 0u; x < ${r}u; x++) {
    let i = row0 + l.y * ${r}u + x;
    if (i >= m) { continue; }
    for (var y = 0u; y < ${r}u; y++) {
      let j = col0 + l.x * ${r}u + y;
      if (j >= n) { continue; }
      let o = co + i * p[12] + j;
      // beta = 0 must not read C: it may hold NaN (BLAS convention)
      if (beta == 0.0) { C[o] = alpha * acc[x * ${r}u + y]; } else { C[o] = alpha * acc[x * ${r}u + y] + beta * C[o]; }
    }
  }
}`;
}

/** 64x64 tiles, 4x4 per thread, 16-wide K slices. */
export const GEMM = gemmShader(64, 16);

/** For large products: 128x128 tiles, 8x8 per thread (twice the arithmetic per value loaded from
 * workgroup memory), 8-wide K slices. */
export const GEMM_LARGE = gemmShader(128, 8);

/** erf and tanh as the js backend computes them (shared by the unary kernels and their backward). */
export const MATH = /* wgsl */ `
// erf via erfc's Chebyshev fit (Numerical Recipes; fractional error < 1.2e-7), as the js backend
fn erf(x: f32) -> f32 {
  let z = abs(x);
  let t = 1.0 / (1.0 + 0.5 * z);
  let r = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return select(r - 1.0, 1.0 - r, x >= 0.0);
}
fn tanh_(x: f32) -> f32 { let e = exp(-2.0 * abs(x)); return sign(x) * (1.0 - e) / (1.0 + e); }
`;

/** Codes of the unary ops the webgpu backend runs (the same formulas as the js backend). */
export const UNARY_CODES = {
  neg: 0, exp: 1, log: 2, sqrt: 3, rsqrt: 4, abs: 5, tanh: 6, sigmoid: 7, relu: 8,
  gelu: 9, geluTanh: 10, silu: 11, sin: 12, cos: 13, square: 14, reciprocal: 15, sign: 16,
} as const;

/** Elementwise f(x). p: n op. */
const unaryFunctions = MATH + /* wgsl */ `
fn f(op: u32, x: f32) -> f32 {
  switch op {
    case 0u: { return -x; }
    case 1u: { return exp(x); }
    case 2u: { return log(x); }
    case 3u: { return sqrt(x); }
    case 4u: { return inverseSqrt(x); }
    case 5u: { return abs(x); }
    case 6u: { return tanh_(x); }
    case 7u: { return 1.0 / (1.0 + exp(-x)); }
    case 8u: { return max(x, 0.0); }
    // GELU (Hendrycks & Gimpel 2016): x Phi(x), exact, and its tanh approximation
    case 9u: { return 0.5 * x * (1.0 + erf(x * 0.7071067811865476)); }
    case 10u: { return 0.5 * x * (1.0 + tanh_(0.7978845608028654 * (x + 0.044715 * x * x * x))); }
    case 11u: { return x / (1.0 + exp(-x)); }
    case 12u: { return sin(x); }
    case 13u: { return cos(x); }
    case 14u: { return x * x; }
    case 15u: { return 1.0 / x; }
    default: { return sign(x); }
  }
}
`;

export const UNARY = kernel1d([["X", "read"], ["Y", "read_write"]], /* wgsl */ `
  if (i >= p[0]) { return; }
  Y[i] = f(p[1], X[i]);
`, unaryFunctions);

export const BINARY_CODES = { add: 0, sub: 1, mul: 2, div: 3, pow: 4, max: 5, min: 6 } as const;

/** out = a (op) b with NumPy broadcasting. p: n op rank outShape[rank] aStride[rank] bStride[rank]
 * (a stride is 0 along a broadcast axis). */
export const BINARY = kernel1d([["A", "read"], ["B", "read"], ["Y", "read_write"]], /* wgsl */ `
  if (i >= p[0]) { return; }
  let rank = p[2];
  var rest = i; var ai = 0u; var bi = 0u;
  for (var d = rank; d > 0u; d--) {
    let size = p[3u + d - 1u];
    let c = rest % size; rest = rest / size;
    ai += c * p[3u + rank + d - 1u];
    bi += c * p[3u + 2u * rank + d - 1u];
  }
  let a = A[ai]; let b = B[bi];
  var y: f32;
  switch p[1] {
    case 0u: { y = a + b; }
    case 1u: { y = a - b; }
    case 2u: { y = a * b; }
    case 3u: { y = a / b; }
    case 4u: { y = pow(a, b); }
    case 5u: { y = max(a, b); }
    default: { y = min(a, b); }
  }
  Y[i] = y;
`);

/** Sum, max or min over the middle axis of [outer, size, inner]. p: outer size inner op. */
export const REDUCE = kernel1d([["X", "read"], ["Y", "read_write"]], /* wgsl */ `
  let size = p[1]; let inner = p[2];
  if (i >= p[0] * inner) { return; }
  let base = (i / inner) * size * inner + i % inner;
  var acc = X[base];
  if (p[3] == 0u) { acc = 0.0; }
  for (var s = 0u; s < size; s++) {
    let x = X[base + s * inner];
    switch p[3] {
      case 0u: { acc += x; }
      case 1u: { acc = max(acc, x); }
      default: { acc = min(acc, x); }
    }
  }
  Y[i] = acc;
`);

/** Row-wise softmax (op 0) or log-softmax (op 1) over [rows, cols], max-subtracted. p: rows cols op. */
export const SOFTMAX = kernel1d([["X", "read"], ["Y", "read_write"]], /* wgsl */ `
  let r = i;
  let cols = p[1];
  if (r >= p[0]) { return; }
  let o = r * cols;
  var mx = -inf();
  for (var j = 0u; j < cols; j++) { mx = max(mx, X[o + j]); }
  var sum = 0.0;
  for (var j = 0u; j < cols; j++) { sum += exp(X[o + j] - mx); }
  if (p[2] == 0u) {
    for (var j = 0u; j < cols; j++) { Y[o + j] = exp(X[o + j] - mx) / sum; }
  } else {
    let lse = mx + log(sum);
    for (var j = 0u; j < cols; j++) { Y[o + j] = X[o + j] - lse; }
  }
`);

/** Layer norm (Ba et al. 2016) over the last axis, saving mean and 1/std for backward.
 * p: rows cols eps hasGamma hasBeta. */
export const LAYER_NORM = kernel1d([["X", "read"], ["G", "read"], ["Bt", "read"], ["Y", "read_write"], ["Mean", "read_write"], ["Rstd", "read_write"]], /* wgsl */ `
  let r = i;
  let cols = p[1];
  if (r >= p[0]) { return; }
  let o = r * cols;
  var mean = 0.0;
  for (var j = 0u; j < cols; j++) { mean += X[o + j]; }
  mean /= f32(cols);
  var vs = 0.0;
  for (var j = 0u; j < cols; j++) { let d = X[o + j] - mean; vs += d * d; }
  let rstd = inverseSqrt(vs / f32(cols) + pf(2));
  Mean[r] = mean; Rstd[r] = rstd;
  for (var j = 0u; j < cols; j++) {
    var y = (X[o + j] - mean) * rstd;
    if (p[3] != 0u) { y *= G[j]; }
    if (p[4] != 0u) { y += Bt[j]; }
    Y[o + j] = y;
  }
`);

/** One AdamW step in place (Loshchilov & Hutter 2019, Algorithm 2).
 * p: n lr beta1 beta2 eps weightDecay bc1 bc2 (bias corrections 1 - beta^t). */
export const ADAMW = kernel1d([["W", "read_write"], ["Gr", "read"], ["M", "read_write"], ["V", "read_write"]], /* wgsl */ `
  if (i >= p[0]) { return; }
  let lr = pf(1); let b1 = pf(2); let b2 = pf(3);
  let g = Gr[i];
  let m = b1 * M[i] + (1.0 - b1) * g;
  let v = b2 * V[i] + (1.0 - b2) * g * g;
  M[i] = m; V[i] = v;
  let denom = sqrt(v / pf(7)) + pf(4);
  W[i] = W[i] * (1.0 - lr * pf(5)) - (lr / pf(6)) * m / denom;
`);

/** Most value columns the attention kernel holds in registers per query row. */
export const ATTENTION_MAX_DV = 128;

/**
 * The head widths of the attention shaders, read from the parameters: `dqk()` (query/key width)
 * and `dvv()` (value width), with `W` sizing the per-thread arrays. (Compiling a copy per width,
 * so that loops unroll, ran twice as slow on an H200; docs/BROWSER.md.)
 */
export function attentionWidths(param: (i: number) => string): string {
  return `fn dqk() -> u32 { return ${param(3)}; }\nfn dvv() -> u32 { return ${param(4)}; }\nconst W = ${ATTENTION_MAX_DV}u;\n`;
}

/**
 * Fused scaled dot-product attention (Vaswani et al. 2017, eq. 1) for one query row per thread,
 * with the online softmax of Milakov & Gimelshein (2018): one pass over the keys keeps a running
 * max and sum and rescales the accumulated values, so the [Tq, Tk] weights never exist in memory.
 * Writes the row log-sum-exp for backward. Layouts, causal alignment and the mask as AttentionArgs.
 * p: bh tq tk d dv heads scale causal hasMask maskBatch maskHeadDiv.
 */
export const ATTENTION = header + attentionWidths((i) => `p[${i}]`) + /* wgsl */ `
@group(0) @binding(1) var<storage, read> Q: array<f32>;
@group(0) @binding(2) var<storage, read> K: array<f32>;
@group(0) @binding(3) var<storage, read> Vv: array<f32>;
@group(0) @binding(4) var<storage, read> Mask: array<f32>;
@group(0) @binding(5) var<storage, read_write> O: array<f32>;
@group(0) @binding(6) var<storage, read_write> Lse: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let idx = gid.x + gid.y * nw.x * 64u;
  let tq = p[1]; let tk = p[2]; let H = p[5];
  if (idx >= p[0] * tq) { return; }
  let h = idx / tq; let i = idx % tq;
  // row r of head h sits at row (h*T + r) ([BH, T, X] blocks) or ((b*T + r)*H + h%H) ([B, T, H, X])
  var base = h; var hb = h;
  if (H != 0u) { hb = h / H; base = h % H; }
  let qrow = select(h * tq + i, (hb * tq + i) * H + base, H != 0u);
  var qr: array<f32, W>;
  for (var c = 0u; c < dqk(); c++) { qr[c] = Q[qrow * dqk() + c]; }
  var lastKey = tk - 1u;
  if (p[7] != 0u) { lastKey = min(i + tk - tq, tk - 1u); }
  var mo = 0u;
  if (p[8] != 0u) { mo = (((h / p[10]) % p[9]) * tq + i) * tk; }
  var acc: array<f32, W>;
  var mx = -inf(); var sum = 0.0;
  if (p[7] == 0u || i + tk >= tq) {
    for (var j = 0u; j <= lastKey; j++) {
      let krow = select(h * tk + j, (hb * tk + j) * H + base, H != 0u);
      var s = 0.0;
      for (var c = 0u; c < dqk(); c++) { s = fma(qr[c], K[krow * dqk() + c], s); }
      s *= pf(6);
      if (p[8] != 0u) { s += Mask[mo + j]; }
      if (s == -inf()) { continue; }
      let nmx = max(mx, s);
      let corr = exp(mx - nmx);
      let w = exp(s - nmx);
      sum = sum * corr + w;
      for (var c = 0u; c < dvv(); c++) { acc[c] = fma(acc[c], corr, w * Vv[krow * dvv() + c]); }
      mx = nmx;
    }
  }
  let oo = qrow * dvv();
  if (sum == 0.0) {
    // fully masked row: zeros out, and a log-sum-exp that makes every weight 0 (as the js backend)
    for (var c = 0u; c < dvv(); c++) { O[oo + c] = 0.0; }
    Lse[idx] = inf();
    return;
  }
  for (var c = 0u; c < dvv(); c++) { O[oo + c] = acc[c] / sum; }
  Lse[idx] = mx + log(sum);
}`;
