// ISA-independent source of the fused kernels. Included once per ISA translation unit (inside
// that ISA's namespace, after its target pragma), so the compiler auto-vectorises the loops
// for AVX-512, AVX2 or the baseline. No libm calls in the hot loops: exp/tanh/erf below are
// branch-free polynomial forms the vectoriser can handle (about 1-2 ulp for exp).

#define TSF_PRAGMA(x) _Pragma(#x)
#define TSF_SIMD TSF_PRAGMA(omp simd)
#define TSF_SIMD_SUM(v) TSF_PRAGMA(omp simd reduction(+:v))
#define TSF_SIMD_MAX(v) TSF_PRAGMA(omp simd reduction(max:v))

static inline float asFloat(int32_t i) { float f; memcpy(&f, &i, 4); return f; }

static inline float fexp(float x) {
  const float hi = 88.7228317f, lo = -87.3365479f;
  float xc = x > hi ? hi : x;
  xc = xc < lo ? lo : xc;
  const float fx = xc * 1.44269504088896341f;
  const float fn = (fx + 12582912.0f) - 12582912.0f;  // round to nearest
  const int32_t n = (int32_t)fn;
  const float r = (xc - fn * 0.693359375f) + fn * 2.12194440e-4f;
  float y = 1.9875691500E-4f;
  y = y * r + 1.3981999507E-3f;
  y = y * r + 8.3334519073E-3f;
  y = y * r + 4.1665795894E-2f;
  y = y * r + 1.6666665459E-1f;
  y = y * r + 5.0000001201E-1f;
  y = y * r * r + r + 1.0f;
  const int32_t n1 = n >> 1, n2 = n - n1;
  y = y * asFloat((n1 + 127) << 23) * asFloat((n2 + 127) << 23);
  y = x < lo ? 0.0f : y;
  y = x > hi ? __builtin_inff() : y;
  return x != x ? x : y;
}

static inline float ftanh(float x) {
  const float ax = x < 0 ? -x : x;
  const float z = x * x;
  float small = -5.70498872745E-3f;
  small = small * z + 2.06390887954E-2f;
  small = small * z - 5.37397155531E-2f;
  small = small * z + 1.33314422036E-1f;
  small = small * z - 3.33332819422E-1f;
  small = small * z * x + x;
  const float e = fexp(2.0f * (ax > 20.0f ? 20.0f : ax));
  float big = 1.0f - 2.0f / (e + 1.0f);
  big = x < 0 ? -big : big;
  return ax < 0.625f ? small : big;
}

static inline float fsigmoid(float x) { return 1.0f / (1.0f + fexp(-x)); }

constexpr float kInvSqrt2 = 0.70710678118654752f;
constexpr float kInvSqrt2Pi = 0.39894228040143268f;
constexpr float kSqrt2OverPi = 0.79788456080286536f;

// --- whole vectors ---------------------------------------------------------------------------
// GCC/Clang vector extensions of the ISA's width VL (16 AVX-512, 8 AVX2, 4 baseline), for the
// kernels where the auto-vectoriser's code is slow (reductions end in VL dependent scalar adds;
// fexp's full-range handling is wasted on arguments known to be <= 0).
typedef float VF __attribute__((vector_size(VL * sizeof(float))));
typedef float VFU __attribute__((vector_size(VL * sizeof(float)), aligned(4), __may_alias__));
static inline VF vld(const float* p) { return *reinterpret_cast<const VFU*>(p); }
static inline void vst(float* p, VF v) { *reinterpret_cast<VFU*>(p) = v; }
typedef int VI __attribute__((vector_size(VL * sizeof(int))));
static inline VF vsplat(float x) {  // a broadcast (VF{} + x would add 0.0f first: signed zeros)
#if defined(__clang__)
  VF v;
  for (int i = 0; i < VL; ++i) v[i] = x;
  return v;
#else
  VF v = {x};
  return __builtin_shuffle(v, VI{});
#endif
}

static inline VF vabs(VF x) { return (VF)((VI)x & 0x7fffffff); }

// y[i] = f(x[i]) a whole vector at a time; the tail through a zero-padded vector
template <class F>
static inline void mapVectors(const float* x, float* y, long n, F f) {
  long i = 0;
  for (; i + VL <= n; i += VL) vst(y + i, f(vld(x + i)));
  if (i < n) {
    VF t = VF{};
    for (long j = i; j < n; ++j) t[j - i] = x[j];
    t = f(t);
    for (long j = i; j < n; ++j) y[j] = t[j - i];
  }
}

// Whole-vector helpers for the softmax of a row of scores (nbw a multiple of VL). Horizontal
// max and sum as a tree of lane swaps: the loops' own reductions ended in VL dependent scalar
// adds per row, a third of the short-sequence softmax.
static inline VI vlanes() {
  VI l;
  for (int i = 0; i < VL; ++i) l[i] = i;
  return l;
}
static inline VF vswapLanes(VF v, int w) {  // lane l <- lane l ^ w
#if defined(__clang__)
  VF u;
  for (int i = 0; i < VL; ++i) u[i] = v[i ^ w];
  return u;
#else
  return __builtin_shuffle(v, vlanes() ^ w);
#endif
}
static inline float vhmax(VF v) {
#pragma GCC unroll 8
  for (int w = VL / 2; w >= 1; w /= 2) { const VF u = vswapLanes(v, w); v = u > v ? u : v; }
  return v[0];
}
static inline float vhsum(VF v) {
#pragma GCC unroll 8
  for (int w = VL / 2; w >= 1; w /= 2) v += vswapLanes(v, w);
  return v[0];
}

// exp(x) for x <= 0 (a score minus its row's maximum or log-sum-exp), as fexp but without the
// large-argument and denormal handling that range needs not: 0 below -87.34 (and for -inf),
// NaN stays NaN. Small positive x (rounding) is fine.
static inline VF vexpNonPos(VF x) {
  const VF lo = vsplat(-87.3365479f), magic = vsplat(12582912.0f);
  const VF xc = x < lo ? lo : x;
  const VF fn = (xc * vsplat(1.44269504088896341f) + magic) - magic;  // round to nearest
  const VF r = (xc - fn * vsplat(0.693359375f)) + fn * vsplat(2.12194440e-4f);
  VF y = vsplat(1.9875691500E-4f);
  y = y * r + vsplat(1.3981999507E-3f);
  y = y * r + vsplat(8.3334519073E-3f);
  y = y * r + vsplat(4.1665795894E-2f);
  y = y * r + vsplat(1.6666665459E-1f);
  y = y * r + vsplat(5.0000001201E-1f);
  y = y * r * r + r + vsplat(1.0f);
  const VI n = __builtin_convertvector(fn, VI);  // -126..1: 2^n is a normal float
  y = y * (VF)((n + 127) << 23);
  return x < lo ? VF{} : y;
}

// Keys [n, nbw) of a score row -> -inf (causal and padding keys), whole vectors.
static inline void maskTail(float* p, long n, long nbw) {
  const VF ninf = vsplat(-__builtin_inff());
  const long jv = n / VL * VL;
  if (jv >= nbw) return;
  const VF v = vld(p + jv);
  vst(p + jv, vlanes() < (int)(n - jv) ? v : ninf);
  for (long j = jv + VL; j < nbw; j += VL) vst(p + j, ninf);
}

// Keys [n, nbw) of a score row -> -inf, then the row's maximum (-inf when nothing is visible).
static inline float maskedRowMax(float* p, long n, long nbw) {
  maskTail(p, n, nbw);
  VF m = vld(p);
  for (long j = VL; j < nbw; j += VL) { const VF x = vld(p + j); m = x > m ? x : m; }
  return vhmax(m);
}

// p[j] <- exp(p[j] - mx) over the row's nbw scores (masked keys -inf: 0); their sum out.
static inline float expSumRow(float* p, long nbw, float mx) {
  const VF vm = vsplat(mx);
  VF s = VF{};
  for (long j = 0; j < nbw; j += VL) {
    const VF e = vexpNonPos(vld(p + j) - vm);
    vst(p + j, e);
    s += e;
  }
  return vhsum(s);
}

// log(x) for positive normal x: x = 2^e m with m in [sqrt(1/2), sqrt(2)), log m = 2 atanh(t),
// t = (m - 1) / (m + 1), |t| < 0.172, as an odd series to t^9 (truncation error < 3e-9).
static inline VF vlogPos(VF x) {
  const VI xi = (VI)x;
  VI e = ((xi >> 23) & 0xff) - 127;
  VF m = (VF)((xi & 0x007fffff) | 0x3f800000);  // [1, 2)
  const VI big = m > vsplat(1.41421356f);       // lanes -1 (true) or 0
  m = big ? m * vsplat(0.5f) : m;
  e -= big;
  const VF t = (m - vsplat(1.0f)) / (m + vsplat(1.0f)), t2 = t * t;
  VF y = vsplat(1.0f / 9.0f);
  y = y * t2 + vsplat(1.0f / 7.0f);
  y = y * t2 + vsplat(1.0f / 5.0f);
  y = y * t2 + vsplat(1.0f / 3.0f);
  y = y * t2 + vsplat(1.0f);
  return __builtin_convertvector(e, VF) * vsplat(0.693147180559945f) + vsplat(2.0f) * t * y;
}

// For rows r < n of a block (n <= kRowBlock): lse[r] = mx[r] + log(sum[r]) and inv[r] = 1 / sum[r],
// a vector of rows at a time (a libm logf per row was a tenth of the short-sequence forward);
// a row with nothing visible (sum 0) gets lse +inf and inv 0.
static inline void finishRows(const float* mx, const float* sum, long n, float* lse, float* inv) {
  for (long r0 = 0; r0 < n; r0 += VL) {
    const long w = n - r0 < VL ? n - r0 : VL;
    VF vm = VF{}, vs = vsplat(1.0f);
    for (long r = 0; r < w; ++r) { vm[r] = mx[r0 + r]; vs[r] = sum[r0 + r]; }
    const VI seen = vs > VF{};
    const VF safe = seen ? vs : vsplat(1.0f);
    const VF l = seen ? vm + vlogPos(safe) : vsplat(__builtin_inff());
    const VF iv = seen ? vsplat(1.0f) / safe : VF{};
    for (long r = 0; r < w; ++r) { lse[r0 + r] = l[r]; inv[r0 + r] = iv[r]; }
  }
}

// erf(z) = z P(z^2) / Q(z^2) with z clamped to [-4, 4] (erf(4) rounds to 1 in float32): a
// rational fit of degrees 6 and 5 in z^2 (scripts/fit-erf.py), absolute error < 3.6e-7 in
// float32 (GELU's < 1.1e-6 on [-12, 12]) and no exp: GELU on ViT-Ti's [1576, 768] 0.49 -> 0.26 ms,
// its gradient 0.67 -> 0.46 ms, against an erfc with an exp and a division (the Numerical
// Recipes fit the JS reference keeps)
static inline VF verfRational(VF z) {
  const VF four = vsplat(4.0f), nfour = vsplat(-4.0f);
  const VF zc = z > four ? four : (z < nfour ? nfour : z);
  const VF u = zc * zc;
  VF p = vsplat(-1.4188368702150456e-08f);
  p = p * u + vsplat(4.88726709590992e-06f);
  p = p * u + vsplat(0.0003862899320665747f);
  p = p * u + vsplat(0.003833615453913808f);
  p = p * u + vsplat(0.05436674878001213f);
  p = p * u + vsplat(0.18428152799606323f);
  p = p * u + vsplat(1.128379225730896f);
  VF q = vsplat(6.501723692053929e-05f);
  q = q * u + vsplat(0.0013131764717400074f);
  q = q * u + vsplat(0.015454626642167568f);
  q = q * u + vsplat(0.11372958868741989f);
  q = q * u + vsplat(0.4966488778591156f);
  q = q * u + vsplat(1.0f);
  return zc * p / q;
}

// GELU 0.5 x (1 + erf(x / sqrt 2))
static inline VF vgelu(VF x) {
  return vsplat(0.5f) * x * (vsplat(1.0f) + verfRational(x * vsplat(kInvSqrt2)));
}

// sigmoid(a) = 1 / (1 + e^-a) from e = exp(-|a|) <= 1, the exp the cheap one
static inline VF vsigmoid(VF a) {
  const VF e = vexpNonPos(vsplat(0.0f) - vabs(a)), one = vsplat(1.0f);
  const VF r = one / (one + e);
  return a >= VF{} ? r : e * r;
}

// GELU, tanh form: 0.5 v (1 + tanh(u)) = v sigmoid(2u), u = sqrt(2/pi) (v + 0.044715 v^3)
static inline VF vgeluTanh(VF v) {
  return v * vsigmoid(vsplat(2.0f * kSqrt2OverPi) * (v + vsplat(0.044715f) * v * v * v));
}

// GELU's derivative cdf(x) + x exp(-x^2 / 2) / sqrt(2 pi), cdf(x) = 0.5 (1 + erf(x / sqrt 2)),
// from x and the forward pass's output y = x cdf(x): cdf = y / x, so only the density's exp is
// left (no erf, whose rational form costs a division and 13 multiply-adds: ViT-Ti's 1576 x 768
// gradient 474 -> 311 us). Near x = 0 (|x| < 2^-10) 0 / 0 is undefined: cdf = 1/2 + x / sqrt(2 pi)
// there (the next term, x^3 / (6 sqrt(2 pi)), is under 2^-32).
static inline VF vgeluGradFromOutput(VF x, VF y) {
  const VF near0 = vsplat(0.5f) + x * vsplat(kInvSqrt2Pi);
  const VF cdf = vabs(x) < vsplat(0.0009765625f) ? near0 : y / x;
  return cdf + x * vsplat(kInvSqrt2Pi) * vexpNonPos(vsplat(-0.5f) * x * x);
}

// The tanh form's derivative d/dv [v s] = s + 2 v s (1 - s) u', s = sigmoid(2u), u' = sqrt(2/pi)
// (1 + 3 * 0.044715 v^2), from y = v s as well: s = y / v, one division in place of the
// sigmoid's exp and division (near 0, s = 1/2 + u / 2, u = sqrt(2/pi) v). 486 -> 184 us.
static inline VF vgeluTanhGradFromOutput(VF v, VF y) {
  const VF near0 = vsplat(0.5f) + v * vsplat(0.5f * kSqrt2OverPi);
  const VF s = vabs(v) < vsplat(0.0009765625f) ? near0 : y / v;
  return s + vsplat(2.0f * kSqrt2OverPi) * v * s * (vsplat(1.0f) - s) * (vsplat(1.0f) + vsplat(3.0f * 0.044715f) * v * v);
}

// dx[i] = dy[i] * f'(x[i], y[i]) from fprime(x, y), y the forward output
template <class F>
static inline void mapGradFromOutput(const float* x, const float* y, const float* dy, float* dx, long n, F fprime) {
  long i = 0;
  for (; i + VL <= n; i += VL) vst(dx + i, vld(dy + i) * fprime(vld(x + i), vld(y + i)));
  if (i < n) {
    VF xt = VF{}, yt = VF{};
    for (long j = i; j < n; ++j) { xt[j - i] = x[j]; yt[j - i] = y[j]; }
    const VF t = fprime(xt, yt);
    for (long j = i; j < n; ++j) dx[j] = dy[j] * t[j - i];
  }
}

// --- row-wise ------------------------------------------------------------------------------

static float rowMax(const float* x, long n) {
  long j = 0;
  float mx = -__builtin_inff();
  if (n >= VL) {  // whole vectors, then a tree across the lanes (NaN never wins, as below)
    VF m = vsplat(-__builtin_inff());
    for (; j + VL <= n; j += VL) { const VF v = vld(x + j); m = v > m ? v : m; }
    mx = vhmax(m);
  }
  for (; j < n; ++j) mx = x[j] > mx ? x[j] : mx;
  return mx;
}

// sum of exp(x[j] - mx) over a row whose maximum is mx (every argument <= 0)
static float rowSumExp(const float* x, long n, float mx) {
  const VF vm = vsplat(mx);
  VF s = VF{};
  long j = 0;
  for (; j + VL <= n; j += VL) s += vexpNonPos(vld(x + j) - vm);
  float tail = 0.0f;
  for (; j < n; ++j) tail += fexp(x[j] - mx);
  return vhsum(s) + tail;
}

static void softmax(const float* x, float* y, long rows, long cols) {
  for (long r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    const float mx = rowMax(xr, cols);
    if (mx == -__builtin_inff()) {
      for (long j = 0; j < cols; ++j) yr[j] = 0.0f;
      continue;
    }
    const VF vm = vsplat(mx);
    VF sv = VF{};
    long j = 0;
    for (; j + VL <= cols; j += VL) {
      const VF e = vexpNonPos(vld(xr + j) - vm);
      vst(yr + j, e);
      sv += e;
    }
    float s = 0.0f;
    for (; j < cols; ++j) { const float e = fexp(xr[j] - mx); yr[j] = e; s += e; }
    const float inv = 1.0f / (vhsum(sv) + s);
    TSF_SIMD
    for (long j = 0; j < cols; ++j) yr[j] *= inv;
  }
}

static void softmaxBackward(const float* y, const float* dy, float* dx, long rows, long cols) {
  for (long r = 0; r < rows; ++r) {
    const float* yr = y + r * cols;
    const float* dyr = dy + r * cols;
    float* dxr = dx + r * cols;
    float dot = 0.0f;
    TSF_SIMD_SUM(dot)
    for (long j = 0; j < cols; ++j) dot += yr[j] * dyr[j];
    TSF_SIMD
    for (long j = 0; j < cols; ++j) dxr[j] = yr[j] * (dyr[j] - dot);
  }
}

static float rowLse(const float* xr, long cols) {
  const float mx = rowMax(xr, cols);
  if (mx == -__builtin_inff() || mx == __builtin_inff()) return mx;
  return mx + logf(rowSumExp(xr, cols, mx));
}

static void logSoftmax(const float* x, float* y, long rows, long cols) {
  for (long r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    const float lse = rowLse(xr, cols);
    TSF_SIMD
    for (long j = 0; j < cols; ++j) yr[j] = xr[j] - lse;
  }
}

static void logSoftmaxBackward(const float* y, const float* dy, float* dx, long rows, long cols) {
  for (long r = 0; r < rows; ++r) {
    const float* yr = y + r * cols;
    const float* dyr = dy + r * cols;
    float* dxr = dx + r * cols;
    float s = 0.0f;
    TSF_SIMD_SUM(s)
    for (long j = 0; j < cols; ++j) s += dyr[j];
    TSF_SIMD
    for (long j = 0; j < cols; ++j) dxr[j] = dyr[j] - fexp(yr[j]) * s;
  }
}

static void layerNorm(const float* x, const float* g, const float* b, long rows, long cols, float eps,
                      float* y, float* mean, float* rstd) {
  for (long r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    float s = 0.0f;
    TSF_SIMD_SUM(s)
    for (long j = 0; j < cols; ++j) s += xr[j];
    const float mu = s / (float)cols;
    float v = 0.0f;
    TSF_SIMD_SUM(v)
    for (long j = 0; j < cols; ++j) { const float d = xr[j] - mu; v += d * d; }
    v /= (float)cols;
    const float rs = 1.0f / sqrtf(v + eps);
    mean[r] = mu;
    rstd[r] = rs;
    if (g && b) {
      TSF_SIMD
      for (long j = 0; j < cols; ++j) yr[j] = (xr[j] - mu) * rs * g[j] + b[j];
    } else if (g) {
      TSF_SIMD
      for (long j = 0; j < cols; ++j) yr[j] = (xr[j] - mu) * rs * g[j];
    } else if (b) {
      TSF_SIMD
      for (long j = 0; j < cols; ++j) yr[j] = (xr[j] - mu) * rs + b[j];
    } else {
      TSF_SIMD
      for (long j = 0; j < cols; ++j) yr[j] = (xr[j] - mu) * rs;
    }
  }
}

static void layerNormBackward(const float* x, const float* g, const float* mean, const float* rstd,
                              const float* dy, long rows, long cols, float* dx, float* dg, float* db,
                              const float* dxAdd) {
  for (long r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    const float* dyr = dy + r * cols;
    float* dxr = dx + r * cols;
    const float mu = mean[r], rs = rstd[r];
    float s1 = 0.0f, s2 = 0.0f;
    if (g) {
      TSF_SIMD_SUM(s1) 
      for (long j = 0; j < cols; ++j) s1 += dyr[j] * g[j];
      TSF_SIMD_SUM(s2)
      for (long j = 0; j < cols; ++j) s2 += dyr[j] * g[j] * ((xr[j] - mu) * rs);
    } else {
      TSF_SIMD_SUM(s1)
      for (long j = 0; j < cols; ++j) s1 += dyr[j];
      TSF_SIMD_SUM(s2)
      for (long j = 0; j < cols; ++j) s2 += dyr[j] * ((xr[j] - mu) * rs);
    }
    s1 /= (float)cols;
    s2 /= (float)cols;
    if (dg) {
      TSF_SIMD
      for (long j = 0; j < cols; ++j) dg[j] += dyr[j] * ((xr[j] - mu) * rs);
    }
    if (db) {
      TSF_SIMD
      for (long j = 0; j < cols; ++j) db[j] += dyr[j];
    }
    if (g) {
      TSF_SIMD
      for (long j = 0; j < cols; ++j) dxr[j] = rs * (dyr[j] * g[j] - s1 - ((xr[j] - mu) * rs) * s2);
    } else {
      TSF_SIMD
      for (long j = 0; j < cols; ++j) dxr[j] = rs * (dyr[j] - s1 - ((xr[j] - mu) * rs) * s2);
    }
    if (dxAdd) {  // the residual stream's other gradient, added while the row is in cache
      const float* ar = dxAdd + r * cols;
      TSF_SIMD
      for (long j = 0; j < cols; ++j) dxr[j] += ar[j];
    }
  }
}

// Targets were validated by the caller (in range or == ignoreIndex).
static void crossEntropy(const float* logits, const int32_t* targets, long rows, long cols, long ignoreIndex,
                         float eps, float* loss, float* dlogits, float gradScale) {
  for (long r = 0; r < rows; ++r) {
    const float* xr = logits + r * cols;
    const long t = targets[r];
    if (t == ignoreIndex) {
      loss[r] = 0.0f;
      if (dlogits) for (long j = 0; j < cols; ++j) dlogits[r * cols + j] = 0.0f;
      continue;
    }
    const float lse = rowLse(xr, cols);
    float sumLogp = 0.0f;
    if (eps > 0.0f) {
      TSF_SIMD_SUM(sumLogp)
      for (long j = 0; j < cols; ++j) sumLogp += xr[j] - lse;
    }
    loss[r] = -(1.0f - eps) * (xr[t] - lse) - (eps / (float)cols) * sumLogp;
    if (dlogits) {
      float* dr = dlogits + r * cols;
      const float q0 = eps / (float)cols;
      const VF vl = vsplat(lse), vq = vsplat(q0), vs = vsplat(gradScale);
      long j = 0;
      for (; j + VL <= cols; j += VL) vst(dr + j, (vexpNonPos(vld(xr + j) - vl) - vq) * vs);  // x - lse <= 0
      for (; j < cols; ++j) dr[j] = (fexp(xr[j] - lse) - q0) * gradScale;
      dr[t] = (fexp(xr[t] - lse) - (1.0f - eps + q0)) * gradScale;
    }
  }
}

static void adamw(float* p, const float* g, float* m, float* v, long n, float b1, float omb1, float b2, float omb2,
                  float eps, float decay, float stepSize, float invBc2) {
  TSF_SIMD
  for (long i = 0; i < n; ++i) {
    const float gi = g[i];
    const float mi = b1 * m[i] + omb1 * gi;
    const float vi = b2 * v[i] + omb2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i] * decay - stepSize * mi / (sqrtf(vi * invBc2) + eps);
  }
}

// --- elementwise -----------------------------------------------------------------------------

static void unary(int op, const float* x, float* y, long n) {
  switch (op) {
    case U_GELU: mapVectors(x, y, n, vgelu); break;
    case U_GELU_TANH: mapVectors(x, y, n, vgeluTanh); break;  // v sigmoid(2u): no cancellation in 1 + tanh
    case U_RELU: TSF_SIMD for (long i = 0; i < n; ++i) y[i] = x[i] > 0.0f ? x[i] : 0.0f; break;
    case U_SILU: TSF_SIMD for (long i = 0; i < n; ++i) y[i] = x[i] * fsigmoid(x[i]); break;
    case U_EXP: TSF_SIMD for (long i = 0; i < n; ++i) y[i] = fexp(x[i]); break;
    case U_TANH: TSF_SIMD for (long i = 0; i < n; ++i) y[i] = ftanh(x[i]); break;
    case U_SIGMOID: TSF_SIMD for (long i = 0; i < n; ++i) y[i] = fsigmoid(x[i]); break;
    default: break;
  }
}

static void unaryBackward(int op, const float* x, const float* y, const float* dy, float* dx, long n) {
  switch (op) {
    // from the output: the erf (or the sigmoid's exp and division) is not computed again
    case U_GELU: mapGradFromOutput(x, y, dy, dx, n, vgeluGradFromOutput); break;
    case U_GELU_TANH: mapGradFromOutput(x, y, dy, dx, n, vgeluTanhGradFromOutput); break;
    case U_RELU: TSF_SIMD for (long i = 0; i < n; ++i) dx[i] = x[i] > 0.0f ? dy[i] : 0.0f; break;
    case U_SILU:
      TSF_SIMD for (long i = 0; i < n; ++i) {
        const float s = fsigmoid(x[i]);
        dx[i] = dy[i] * (s * (1.0f + x[i] * (1.0f - s)));
      }
      break;
    case U_EXP: TSF_SIMD for (long i = 0; i < n; ++i) dx[i] = dy[i] * y[i]; break;
    case U_TANH: TSF_SIMD for (long i = 0; i < n; ++i) dx[i] = dy[i] * (1.0f - y[i] * y[i]); break;
    case U_SIGMOID: TSF_SIMD for (long i = 0; i < n; ++i) dx[i] = dy[i] * (y[i] * (1.0f - y[i])); break;
    default: break;
  }
}

static inline float binop(int op, float a, float b) {
  switch (op) {
    case B_ADD: return a + b;
    case B_SUB: return a - b;
    case B_MUL: return a * b;
    case B_DIV: return a / b;
    case B_MAX: return (a >= b || a != a) ? a : b;
    default: return (a <= b || a != a) ? a : b;
  }
}

#define TSF_BIN_LOOP(EXPR)                                               \
  switch (op) {                                                          \
    case B_ADD: { TSF_SIMD for (long j = 0; j < len; ++j) { const float av = A_[j], bv = B_(j); o_[j] = av + bv; } break; } \
    case B_SUB: { TSF_SIMD for (long j = 0; j < len; ++j) { const float av = A_[j], bv = B_(j); o_[j] = av - bv; } break; } \
    case B_MUL: { TSF_SIMD for (long j = 0; j < len; ++j) { const float av = A_[j], bv = B_(j); o_[j] = av * bv; } break; } \
    case B_DIV: { TSF_SIMD for (long j = 0; j < len; ++j) { const float av = A_[j], bv = B_(j); o_[j] = av / bv; } break; } \
    default: { for (long j = 0; j < len; ++j) o_[j] = binop(op, A_[j], B_(j)); break; } \
  }

// out[j] += sum of x[r * ld + j] over rows r, four vectors of columns at a time held in
// registers down the rows (loads and adds only; a bias gradient is the column sums of dY)
static void colSum(const float* x, long rows, long cols, long ld, float* out) {
  long j = 0;
  for (; j + 4 * VL <= cols; j += 4 * VL) {
    VF a0 = VF{}, a1 = VF{}, a2 = VF{}, a3 = VF{};
    for (long r = 0; r < rows; ++r) {
      const float* p = x + r * ld + j;
      a0 += vld(p);
      a1 += vld(p + VL);
      a2 += vld(p + 2 * VL);
      a3 += vld(p + 3 * VL);
    }
    vst(out + j, vld(out + j) + a0);
    vst(out + j + VL, vld(out + j + VL) + a1);
    vst(out + j + 2 * VL, vld(out + j + 2 * VL) + a2);
    vst(out + j + 3 * VL, vld(out + j + 3 * VL) + a3);
  }
  for (; j + VL <= cols; j += VL) {
    VF a = VF{};
    for (long r = 0; r < rows; ++r) a += vld(x + r * ld + j);
    vst(out + j, vld(out + j) + a);
  }
  for (; j < cols; ++j) {
    float a = 0.0f;
    for (long r = 0; r < rows; ++r) a += x[r * ld + j];
    out[j] += a;
  }
}

// out[i] = a[i] op b[i % bn]
static void binaryBcast(int op, const float* a, const float* b, float* out, long n, long bn) {
  for (long i0 = 0; i0 < n; i0 += bn) {
    const long len = n - i0 < bn ? n - i0 : bn;
    const float* A_ = a + i0;
    float* o_ = out + i0;
#define B_(j) b[j]
    TSF_BIN_LOOP(0)
#undef B_
  }
}

// out[o*inner + j] = a[o*inner + j] op b[(row0 + o) % bn]; row0 is the first row's index when a
// thread is given rows row0.. of a larger output (b's rows are counted from the output's start)
static void binaryRowBcast(int op, const float* a, const float* b, float* out, long outer, long inner, long bn, long row0) {
  for (long o = 0; o < outer; ++o) {
    const float bs = b[(row0 + o) % bn];
    const float* A_ = a + o * inner;
    float* o_ = out + o * inner;
    const long len = inner;
#define B_(j) bs
    TSF_BIN_LOOP(0)
#undef B_
  }
}

// --- flash attention -------------------------------------------------------------------------

constexpr long ABQ = 64;   // query rows per block
constexpr long ABK = 128;  // keys per block

static thread_local float* g_attnBuf = nullptr;
static thread_local size_t g_attnCap = 0;

// S[i][j] = scale * q_i . k_j (+ mask) for rows [i0, i0+bq), keys [j0, j0+bk); -inf when masked.
// Returns false when the whole block is invisible (causal).
static void scoreBlock(const AttnCall& a, long i0, long bq, long j0, long bk, float* S) {
  GemmCall g{false, true, bq, bk, a.d, a.scale, a.q + i0 * a.ldq, a.ldq, a.k + j0 * a.ldk, a.ldk, 0.0f, S, ABK};
  gemmST(g);
  for (long i = 0; i < bq; ++i) {
    float* s = S + i * ABK;
    if (a.mask) {
      const float* mr = a.mask + (i0 + i) * a.tk + j0;
      TSF_SIMD for (long j = 0; j < bk; ++j) s[j] += mr[j];
    }
    if (a.causal) {
      long last = i0 + i + a.causalOffset - j0;  // last visible key (block-relative)
      for (long j = last + 1 < 0 ? 0 : last + 1; j < bk; ++j) s[j] = -__builtin_inff();
    }
  }
}

static long lastKeyBlockEnd(const AttnCall& a, long q1) {
  if (!a.causal) return a.tk;
  long e = q1 - 1 + a.causalOffset + 1;
  return e < 0 ? 0 : (e > a.tk ? a.tk : e);
}

// --- short-sequence attention ------------------------------------------------------------------
// For short key ranges (ViT: T = 50..200) and small head dims the flash kernel's block GEMMs
// spend more time packing than computing. This path keeps one head's K (and V, backward)
// transposed in a small buffer and runs plain vectorised loops over the keys per query row.
// Same semantics: causal rule j <= i + causalOffset, additive mask, fully masked row -> out 0 and
// lse = +inf.
static inline bool smallAttn(const AttnCall& a) { return smallAttention(a.tk, a.d, a.dv); }
constexpr long kSmallAttnMaxD = 32;

static inline long visibleKeys(const AttnCall& a, long i) {
  if (!a.causal) return a.tk;
  long e = i + a.causalOffset + 1;
  return e < 0 ? 0 : (e > a.tk ? a.tk : e);
}

// s[j] = scale * q . k_j (+ mask) for j < n, computed 16 keys at a time (kt is zero-padded
// to a multiple of 16 keys). DC: the head dim when known at compile time (0: a.d).
template <int DC>
static inline void scoreRow(const AttnCall& a, const float* kt, long ldt, long i, long n, float* s) {
  const long D = DC ? DC : a.d;
  const float* q = a.q + i * a.ldq;
  const float sc = a.scale;
  for (long j0 = 0; j0 < n; j0 += 16) {
    float acc[16];
    for (int jj = 0; jj < 16; ++jj) acc[jj] = 0.0f;
    for (long p = 0; p < D; ++p) {
      const float qp = q[p];
      const float* kr = kt + p * ldt + j0;
      TSF_SIMD for (int jj = 0; jj < 16; ++jj) acc[jj] += qp * kr[jj];
    }
    for (int jj = 0; jj < 16; ++jj) s[j0 + jj] = acc[jj] * sc;
  }
  if (a.mask) {
    const float* mr = a.mask + i * a.tk;
    TSF_SIMD for (long j = 0; j < n; ++j) s[j] += mr[j];
  }
}

// kt[p * ldt + j] = x[j * ldx + p] for keys [0, n), p < d; zero for keys [n, ldt).
static void transposeKeys(const float* x, long ldx, long n, long d, float* kt, long ldt) {
#ifdef TSF_GATHER16
  // 16 keys at a time (AVX-512): 16 x 16 blocks transposed in registers, the rest of the head
  // dims by vector gather, x[(j0 + l) * ldx + p] for l < 16 (gathers alone were 8-12% of the
  // short-sequence attention)
  long jg = 0;
  if (ldx <= (1L << 26)) {
    const long d16 = d / 16 * 16;
    for (; jg + 16 <= n; jg += 16) {
      for (long p = 0; p < d16; p += 16) TSF_TRANSPOSE16(x + jg * ldx + p, ldx, kt + p * ldt + jg, ldt);
      for (long p = d16; p < d; ++p) TSF_GATHER16(kt + p * ldt + jg, x + jg * ldx + p, ldx);
    }
  }
  for (long j0 = jg; j0 < n; j0 += 16) {
#else
  for (long j0 = 0; j0 < n; j0 += 16) {
#endif
    const long j1 = j0 + 16 < n ? j0 + 16 : n;
    for (long p = 0; p < d; ++p) {
      float* dst = kt + p * ldt;
      for (long j = j0; j < j1; ++j) dst[j] = x[j * ldx + p];
    }
  }
  for (long p = 0; p < d; ++p)
    for (long j = n; j < ldt; ++j) kt[p * ldt + j] = 0.0f;
}

template <int DC, int DVC>
static void attentionSmallT(const AttnCall& a) {
  const long D = DC ? DC : a.d, DV = DVC ? DVC : a.dv;
  const long ldt = (a.tk + 15) & ~15L;
  float* kt = ensureBuf(g_attnBuf, g_attnCap, (size_t)(ldt * (D + 1)));
  if (!kt) return;
  float* s = kt + ldt * D;
  const long nk = visibleKeys(a, a.q1 - 1);
  transposeKeys(a.k, a.ldk, nk, D, kt, ldt);
  for (long i = a.q0; i < a.q1; ++i) {
    float* o = a.out + i * a.ldo;
    const long n = visibleKeys(a, i);
    float mx = -__builtin_inff();
    if (n > 0) { scoreRow<DC>(a, kt, ldt, i, n, s); mx = rowMax(s, n); }
    if (mx == -__builtin_inff()) {
      for (long p = 0; p < DV; ++p) o[p] = 0.0f;
      a.lse[i] = __builtin_inff();
      continue;
    }
    float sum = 0.0f;
    TSF_SIMD_SUM(sum)
    for (long j = 0; j < n; ++j) { const float e = fexp(s[j] - mx); s[j] = e; sum += e; }
    float acc[DVC ? DVC : kSmallAttnMaxD];
    for (long p = 0; p < DV; ++p) acc[p] = 0.0f;
    for (long j = 0; j < n; ++j) {
      const float pj = s[j];
      const float* vr = a.v + j * a.ldv;
      TSF_SIMD for (long p = 0; p < DV; ++p) acc[p] += pj * vr[p];
    }
    const float inv = 1.0f / sum;
    for (long p = 0; p < DV; ++p) o[p] = acc[p] * inv;
    a.lse[i] = mx + logf(sum);
  }
}

// Whole head at once: dq for all rows, dk and dv for all keys (pass 2).
template <int DC, int DVC>
static void attentionBackwardSmallT(const AttnBwdCall& b) {
  const AttnCall& a = b.f;
  const long D = DC ? DC : a.d, DV = DVC ? DVC : a.dv;
  const long ldt = (a.tk + 15) & ~15L;
  float* kt = ensureBuf(g_attnBuf, g_attnCap, (size_t)(ldt * (D + DV + 2)));
  if (!kt) return;
  float* vt = kt + ldt * D;
  float* s = vt + ldt * DV;
  float* dp = s + ldt;
  const long nk = visibleKeys(a, a.tq - 1);
  transposeKeys(a.k, a.ldk, nk, D, kt, ldt);
  transposeKeys(a.v, a.ldv, nk, DV, vt, ldt);
  for (long j = 0; j < a.tk; ++j) {
    float* dk = b.dk + j * a.ldk;
    float* dv = b.dvv + j * a.ldv;
    for (long p = 0; p < D; ++p) dk[p] = 0.0f;
    for (long p = 0; p < DV; ++p) dv[p] = 0.0f;
  }
  for (long i = 0; i < a.tq; ++i) {
    float* dq = b.dq + i * a.ldq;
    const float L = a.lse[i];
    const long n = visibleKeys(a, i);
    if (L == __builtin_inff() || n == 0) {
      for (long p = 0; p < D; ++p) dq[p] = 0.0f;
      continue;
    }
    scoreRow<DC>(a, kt, ldt, i, n, s);
    const float* go = b.dout + i * a.ldo;
    for (long j0 = 0; j0 < n; j0 += 16) {
      float acc[16];
      for (int jj = 0; jj < 16; ++jj) acc[jj] = 0.0f;
      for (long p = 0; p < DV; ++p) {
        const float gp = go[p];
        const float* vr = vt + p * ldt + j0;
        TSF_SIMD for (int jj = 0; jj < 16; ++jj) acc[jj] += gp * vr[jj];
      }
      for (int jj = 0; jj < 16; ++jj) dp[j0 + jj] = acc[jj];
    }
    const float Dl = b.delta[i], sc = a.scale;
    TSF_SIMD for (long j = 0; j < n; ++j) {
      const float pj = fexp(s[j] - L);
      s[j] = pj;
      dp[j] = pj * (dp[j] - Dl) * sc;
    }
    const float* q = a.q + i * a.ldq;
    float qv[DC ? DC : kSmallAttnMaxD], gv[DVC ? DVC : kSmallAttnMaxD], dqa[DC ? DC : kSmallAttnMaxD];
    for (long p = 0; p < D; ++p) { qv[p] = q[p]; dqa[p] = 0.0f; }
    for (long p = 0; p < DV; ++p) gv[p] = go[p];
    for (long j = 0; j < n; ++j) {
      const float pj = s[j], ds = dp[j];
      const float* kr = a.k + j * a.ldk;
      float* dk = b.dk + j * a.ldk;
      float* dv = b.dvv + j * a.ldv;
      TSF_SIMD for (long p = 0; p < D; ++p) { dqa[p] += ds * kr[p]; dk[p] += ds * qv[p]; }
      TSF_SIMD for (long p = 0; p < DV; ++p) dv[p] += pj * gv[p];
    }
    for (long p = 0; p < D; ++p) dq[p] = dqa[p];
  }
}

// --- register-blocked short-sequence attention (D = DV = 16, 32 or 64) -----------------------
// One head at a time, everything in L1/L2: K and V transposed once, scores for a block of 8
// query rows at a time, and every product (Q K^T, P V, dO V^T, dS K, dS^T Q, P^T dO) as a small
// GEMM tile whose accumulators live in vector registers. dK and dV are written once per key
// (no read-modify-write per query/key pair), from P and dS kept for the whole head.
constexpr int kAccRegs = VL >= 16 ? 16 : 8;  // accumulators: AVX-512 has 32 registers, AVX2 16
constexpr int kRowBlock = 8;                 // query rows per block
constexpr long kKeyTile = 2 * VL;            // keys per score tile

static constexpr int rowsPerTile(int nv) { return kAccRegs / nv < 1 ? 1 : (kAccRegs / nv > 8 ? 8 : kAccRegs / nv); }

// C[r*ldc + c] = alpha * sum_{s<n} A[r*ars + s*ass] * B[s*ldb + c] for r < RB, c < NV*VL.
template <int NV, int RB>
static inline void tile(long n, const float* A, long ars, long ass, const float* B, long ldb, float* C, long ldc,
                        float alpha) {
  VF acc[RB][NV];
#pragma GCC unroll 8
  for (int r = 0; r < RB; ++r)
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) acc[r][v] = VF{};
  for (long s = 0; s < n; ++s) {
    VF b[NV];
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) b[v] = vld(B + s * ldb + v * VL);
#pragma GCC unroll 8
    for (int r = 0; r < RB; ++r) {
      const VF x = vsplat(A[r * ars + s * ass]);
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) acc[r][v] += x * b[v];
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < RB; ++r)
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) vst(C + r * ldc + v * VL, acc[r][v] * alpha);
}

// rows [0, m) of C (NV*VL columns) = alpha * A B, in tiles of RB rows then single rows.
template <int NV>
static void tileRows(long m, long n, const float* A, long ars, long ass, const float* B, long ldb, float* C, long ldc,
                     float alpha) {
  constexpr int RB = rowsPerTile(NV);
  long r = 0;
  for (; r + RB <= m; r += RB) tile<NV, RB>(n, A + r * ars, ars, ass, B, ldb, C + r * ldc, ldc, alpha);
  for (; r < m; ++r) tile<NV, 1>(n, A + r * ars, ars, ass, B, ldb, C + r * ldc, ldc, alpha);
}

// S[r][j] = alpha * x_r . t[:, j] for rows r < m and keys j < nw (nw a multiple of kKeyTile);
// x rows have stride ldx and D entries, t is [D][ldt] (keys transposed).
template <int D>
static void scoreTiles(long m, long nw, const float* x, long ldx, const float* t, long ldt, float* S, float alpha) {
  for (long j0 = 0; j0 < nw; j0 += kKeyTile) tileRows<kKeyTile / VL>(m, D, x, ldx, 1, t + j0, ldt, S + j0, ldt, alpha);
}

template <int NV>
static void attentionTiled(const AttnCall& a) {
  constexpr long D = NV * VL;
  const long ldt = (a.tk + kKeyTile - 1) / kKeyTile * kKeyTile;
  float* kt = ensureBuf(g_attnBuf, g_attnCap, (size_t)(ldt * (D + kRowBlock)));
  if (!kt) return;
  float* P = kt + ldt * D;
  transposeKeys(a.k, a.ldk, visibleKeys(a, a.q1 - 1), D, kt, ldt);
  for (long i0 = a.q0; i0 < a.q1; i0 += kRowBlock) {
    const long rb = a.q1 - i0 < kRowBlock ? a.q1 - i0 : kRowBlock;
    const long nb = visibleKeys(a, i0 + rb - 1);  // keys the block's last row sees (the most)
    const long nbw = (nb + kKeyTile - 1) / kKeyTile * kKeyTile;
    if (nb > 0) scoreTiles<D>(rb, nbw, a.q + i0 * a.ldq, a.ldq, kt, ldt, P, a.scale);
    // Softmax of the block's rows in three passes, each over independent rows (so the CPU
    // overlaps their dependency chains): maxima, then exps and sums, then lse and 1 / sum.
    float mxs[kRowBlock], sums[kRowBlock], inv[kRowBlock];  // inv 0: nothing visible
    for (long r = 0; r < rb; ++r) {
      const long i = i0 + r, n = visibleKeys(a, i);
      float* p = P + r * ldt;
      if (a.mask && n > 0) {
        const float* mr = a.mask + i * a.tk;
        TSF_SIMD for (long j = 0; j < n; ++j) p[j] += mr[j];
      }
      mxs[r] = n > 0 ? maskedRowMax(p, n, nbw) : -__builtin_inff();
    }
    for (long r = 0; r < rb; ++r) {
      float* p = P + r * ldt;
      if (mxs[r] == -__builtin_inff()) {  // nothing visible: output 0, lse = +inf
        for (long j = 0; j < nbw; ++j) p[j] = 0.0f;
        sums[r] = 0.0f;
        continue;
      }
      sums[r] = expSumRow(p, nbw, mxs[r]);
    }
    finishRows(mxs, sums, rb, a.lse + i0, inv);
    float* o = a.out + i0 * a.ldo;
    tileRows<NV>(rb, nb, P, ldt, 1, a.v, a.ldv, o, a.ldo, 1.0f);  // O = P V, then / the sums (D, not Tk, divisions a row)
    for (long r = 0; r < rb; ++r) {
      const VF s = vsplat(inv[r]);
      float* orow = o + r * a.ldo;
      for (int v = 0; v < NV; ++v) vst(orow + v * VL, inv[r] == 0.0f ? VF{} : vld(orow + v * VL) * s);
    }
  }
}

// Rows across the lanes (no additive mask): for a block of VL query rows, the scores are
// computed transposed, S^T [keys][VL rows], so the softmax runs down the keys with every lane a
// different row: maxima, exps and sums are whole-vector operations, with no reduction across
// lanes and no key padding (T = 50 had 64 scores a row, and each row's max -> exp -> sum chain
// ran alone). Then O = P V reads P^T with a row stride of 1.
template <int NV>
static void attentionRowsInLanes(const AttnCall& a) {
  constexpr long D = NV * VL;
  float* qt = ensureBuf(g_attnBuf, g_attnCap, (size_t)(D * VL + a.tk * VL));
  if (!qt) return;
  float* St = qt + D * VL;  // [tk][VL]
  const VI lane = vlanes();
  const VF ninf = vsplat(-__builtin_inff());
  for (long i0 = a.q0; i0 < a.q1; i0 += VL) {
    const long rb = a.q1 - i0 < VL ? a.q1 - i0 : VL;
    const long nb = visibleKeys(a, i0 + rb - 1);  // keys the block's last row sees (the most)
    float* o = a.out + i0 * a.ldo;
    if (nb <= 0) {  // nothing visible to any row: output 0, lse = +inf
      for (long r = 0; r < rb; ++r) {
        for (long c = 0; c < a.dv; ++c) o[r * a.ldo + c] = 0.0f;
        a.lse[i0 + r] = __builtin_inff();
      }
      continue;
    }
    transposeKeys(a.q + i0 * a.ldq, a.ldq, rb, D, qt, VL);  // qt [D][VL], rows >= rb zero
    tileRows<1>(nb, D, a.k, a.ldk, 1, qt, VL, St, VL, a.scale);  // S^T[j] = scale k_j . q_rows
    // causal: key j is visible to rows r >= j - causalOffset - i0
    VF m = ninf;
    for (long j = 0; j < nb; ++j) {
      VF x = vld(St + j * VL);
      if (a.causal) {
        x = lane >= (int)(j - a.causalOffset - i0) ? x : ninf;
        vst(St + j * VL, x);
      }
      m = x > m ? x : m;
    }
    const VI seen = m > ninf;
    const VF msafe = seen ? m : VF{};  // exp(-inf - 0) = 0 for rows that see nothing
    VF sum = VF{};
    for (long j = 0; j < nb; ++j) {
      const VF e = vexpNonPos(vld(St + j * VL) - msafe);
      vst(St + j * VL, e);
      sum += e;
    }
    const VI any = sum > VF{};
    const VF safe = any ? sum : vsplat(1.0f);
    const VF lse = any ? m + vlogPos(safe) : vsplat(__builtin_inff());
    const VF inv = any ? vsplat(1.0f) / safe : VF{};
    for (long r = 0; r < rb; ++r) a.lse[i0 + r] = lse[r];
    tileRows<NV>(rb, nb, St, 1, VL, a.v, a.ldv, o, a.ldo, 1.0f);  // O = P V
    for (long r = 0; r < rb; ++r) {
      const VF s = vsplat(inv[r]);
      float* orow = o + r * a.ldo;
      for (int v = 0; v < NV; ++v) vst(orow + v * VL, vld(orow + v * VL) * s);
    }
  }
}

// dK = dS^T Q and dV = P^T dO, a block of keys at a time; causal: only queries that see them.
// P and dS hold (query s, key j) at s * rowStride + j * keyStride.
template <int NV>
static void keyGradients(const AttnBwdCall& b, const float* P, const float* dS, long rowStride, long keyStride) {
  const AttnCall& a = b.f;
  constexpr int RB = rowsPerTile(NV);
  for (long j0 = 0; j0 < a.tk; j0 += RB) {
    const long jb = a.tk - j0 < RB ? a.tk - j0 : RB;
    long s0 = 0;
    if (a.causal) { s0 = j0 - a.causalOffset; if (s0 < 0) s0 = 0; if (s0 > a.tq) s0 = a.tq; }
    const long n = a.tq - s0;
    const float* q = a.q + s0 * a.ldq;
    const float* go = b.dout + s0 * a.ldo;
    if (jb == RB) {
      const long at = s0 * rowStride + j0 * keyStride;
      tile<NV, RB>(n, dS + at, keyStride, rowStride, q, a.ldq, b.dk + j0 * a.ldk, a.ldk, 1.0f);
      tile<NV, RB>(n, P + at, keyStride, rowStride, go, a.ldo, b.dvv + j0 * a.ldv, a.ldv, 1.0f);
    } else {
      for (long j = j0; j < j0 + jb; ++j) {
        const long at = s0 * rowStride + j * keyStride;
        tile<NV, 1>(n, dS + at, keyStride, rowStride, q, a.ldq, b.dk + j * a.ldk, a.ldk, 1.0f);
        tile<NV, 1>(n, P + at, keyStride, rowStride, go, a.ldo, b.dvv + j * a.ldv, a.ldv, 1.0f);
      }
    }
  }
}

template <int NV>
static void attentionBackwardTiled(const AttnBwdCall& b) {
  const AttnCall& a = b.f;
  constexpr long D = NV * VL;
  const long ldt = (a.tk + kKeyTile - 1) / kKeyTile * kKeyTile;
  float* kt = ensureBuf(g_attnBuf, g_attnCap, (size_t)(ldt * (2 * D + 2 * a.tq)));
  if (!kt) return;
  float* vt = kt + ldt * D;
  float* P = vt + ldt * D;     // [tq][ldt] probabilities
  float* dS = P + ldt * a.tq;  // [tq][ldt] gradient of the scores
  const long nk = visibleKeys(a, a.tq - 1);
  transposeKeys(a.k, a.ldk, nk, D, kt, ldt);
  transposeKeys(a.v, a.ldv, nk, D, vt, ldt);
  for (long i0 = 0; i0 < a.tq; i0 += kRowBlock) {
    const long rb = a.tq - i0 < kRowBlock ? a.tq - i0 : kRowBlock;
    const long nb = visibleKeys(a, i0 + rb - 1);
    const long nbw = (nb + kKeyTile - 1) / kKeyTile * kKeyTile;
    float* Pb = P + i0 * ldt;
    float* dSb = dS + i0 * ldt;
    if (nb > 0) {
      scoreTiles<D>(rb, nbw, a.q + i0 * a.ldq, a.ldq, kt, ldt, Pb, a.scale);           // S
      scoreTiles<D>(rb, nbw, b.dout + i0 * a.ldo, a.ldo, vt, ldt, dSb, 1.0f);         // dP = dO V^T
    }
    for (long r = 0; r < rb; ++r) {
      const long i = i0 + r;
      const long n = visibleKeys(a, i);
      float* p = Pb + r * ldt;
      float* ds = dSb + r * ldt;
      const float L = a.lse[i];
      if (L == __builtin_inff()) {
        for (long j = 0; j < ldt; ++j) { p[j] = 0.0f; ds[j] = 0.0f; }
        continue;
      }
      if (a.mask) {
        const float* mr = a.mask + i * a.tk;
        TSF_SIMD for (long j = 0; j < n; ++j) p[j] += mr[j];
      }
      maskTail(p, n, nbw);  // exp -> 0 below
      const VF vL = vsplat(L), vD = vsplat(b.delta[i]), vsc = vsplat(a.scale);
      for (long j = 0; j < nbw; j += VL) {
        const VF pj = vexpNonPos(vld(p + j) - vL);  // s - lse <= 0
        vst(p + j, pj);
        vst(ds + j, pj * (vld(ds + j) - vD) * vsc);
      }
      for (long j = nbw; j < ldt; ++j) { p[j] = 0.0f; ds[j] = 0.0f; }
    }
    tileRows<NV>(rb, nb, dSb, ldt, 1, a.k, a.ldk, b.dq + i0 * a.ldq, a.ldq, 1.0f);  // dQ = dS K
  }
  keyGradients<NV>(b, P, dS, ldt, 1);
}

// Backward with rows across the lanes (no additive mask), the forward's layout: per block of VL
// query rows, S^T and dP^T = V dO^T as [keys][rows] tiles, then P^T = exp(S^T - lse) and
// dS^T = P^T (dP^T - delta) scale down the keys with lse and delta one vector. P^T and dS^T are
// kept for the whole head ([tk][rows]) for dK = dS^T Q and dV = P^T dO, a block of keys at a time.
template <int NV>
static void attentionBackwardRowsInLanes(const AttnBwdCall& b) {
  const AttnCall& a = b.f;
  constexpr long D = NV * VL;
  const long ldr = (a.tq + VL - 1) / VL * VL;  // query rows, padded to whole vectors
  float* Pt = ensureBuf(g_attnBuf, g_attnCap, (size_t)(2 * a.tk * ldr + 2 * D * VL));
  if (!Pt) return;
  float* dSt = Pt + a.tk * ldr;
  float* qt = dSt + a.tk * ldr;
  float* gt = qt + D * VL;
  const VI lane = vlanes();
  const VF vsc = vsplat(a.scale);
  for (long i0 = 0; i0 < a.tq; i0 += VL) {
    const long rb = a.tq - i0 < VL ? a.tq - i0 : VL;
    long nb = visibleKeys(a, i0 + rb - 1);  // keys the block's last row sees (the most)
    if (nb < 0) nb = 0;
    if (nb > 0) {
      transposeKeys(a.q + i0 * a.ldq, a.ldq, rb, D, qt, VL);     // Q^T of the block, [D][VL]
      transposeKeys(b.dout + i0 * a.ldo, a.ldo, rb, D, gt, VL);  // dO^T
      tileRows<1>(nb, D, a.k, a.ldk, 1, qt, VL, Pt + i0, ldr, a.scale);  // S^T
      tileRows<1>(nb, D, a.v, a.ldv, 1, gt, VL, dSt + i0, ldr, 1.0f);    // dP^T
      VF L = vsplat(__builtin_inff()), dl = VF{};  // lanes past the last row: P = 0
      for (long r = 0; r < rb; ++r) { L[r] = a.lse[i0 + r]; dl[r] = b.delta[i0 + r]; }
      for (long j = 0; j < nb; ++j) {
        float* pj = Pt + j * ldr + i0;
        float* dsj = dSt + j * ldr + i0;
        VF p = vexpNonPos(vld(pj) - L);  // s - lse <= 0; lse = +inf (nothing visible): 0
        if (a.causal) p = lane >= (int)(j - a.causalOffset - i0) ? p : VF{};
        vst(pj, p);
        vst(dsj, p * (vld(dsj) - dl) * vsc);
      }
    }
    for (long j = nb; j < a.tk; ++j) {  // keys no row of the block sees (dK and dV read them)
      vst(Pt + j * ldr + i0, VF{});
      vst(dSt + j * ldr + i0, VF{});
    }
    tileRows<NV>(rb, nb, dSt + i0, 1, ldr, a.k, a.ldk, b.dq + i0 * a.ldq, a.ldq, 1.0f);  // dQ = dS K
  }
  keyGradients<NV>(b, Pt, dSt, 1, ldr);
}

// Which tiled instantiation serves head dim d (0: none; the older paths serve it).
static inline int tiledVectors(const AttnCall& a) {
  if (a.d != a.dv || a.d % VL != 0) return 0;
  const long nv = a.d / VL;
  return (nv == 1 || nv == 2 || nv == 4 || nv == 8 || nv == 16) && a.d <= 64 ? (int)nv : 0;
}

// A vector count as a type (this ISA's own: no standard-library template is instantiated
// under the target pragma).
template <int N>
struct Vectors { static constexpr int value = N; };

// f(Vectors<NV>{}) for the tiled instantiation that serves a's head dim; false when none does.
template <class F>
static bool withTiledVectors(const AttnCall& a, F f) {
  switch (tiledVectors(a)) {
    case 1: f(Vectors<1>{}); return true;
    case 2: f(Vectors<2>{}); return true;
    case 4: f(Vectors<4>{}); return true;
    case 8: f(Vectors<8>{}); return true;
    case 16: f(Vectors<16>{}); return true;
    default: return false;
  }
}

static void attentionSmall(const AttnCall& a) {
  // without an additive mask, rows across the lanes (single thread, AVX-512: ViT-MNIST's
  // T 50 d 16 1.93 -> 1.57 ms for 512 heads, ViT-Ti's T 197 d 64 2.83 -> 2.61 ms for 24)
  if (!a.mask && withTiledVectors(a, [&](auto nv) { attentionRowsInLanes<decltype(nv)::value>(a); })) return;
  if (withTiledVectors(a, [&](auto nv) { attentionTiled<decltype(nv)::value>(a); })) return;
  if (a.d == 16 && a.dv == 16) attentionSmallT<16, 16>(a);
  else if (a.d == 32 && a.dv == 32) attentionSmallT<32, 32>(a);
  else if (a.d == 64 && a.dv == 64) attentionSmallT<64, 64>(a);
  else attentionSmallT<0, 0>(a);
}

static void attentionBackwardSmall(const AttnBwdCall& b) {
  const AttnCall& a = b.f;
  if (!a.mask && withTiledVectors(a, [&](auto nv) { attentionBackwardRowsInLanes<decltype(nv)::value>(b); })) return;
  if (withTiledVectors(a, [&](auto nv) { attentionBackwardTiled<decltype(nv)::value>(b); })) return;
  if (a.d == 16 && a.dv == 16) attentionBackwardSmallT<16, 16>(b);
  else if (a.d == 32 && a.dv == 32) attentionBackwardSmallT<32, 32>(b);
  else if (a.d == 64 && a.dv == 64) attentionBackwardSmallT<64, 64>(b);
  else attentionBackwardSmallT<0, 0>(b);
}

static void attention(const AttnCall& a) {
  if (smallAttn(a)) { attentionSmall(a); return; }
  float* S = ensureBuf(g_attnBuf, g_attnCap, (size_t)(ABQ * ABK + 2 * ABQ));
  if (!S) return;
  float* mrow = S + ABQ * ABK;
  float* lrow = mrow + ABQ;
  for (long i0 = a.q0; i0 < a.q1; i0 += ABQ) {
    const long bq = a.q1 - i0 < ABQ ? a.q1 - i0 : ABQ;
    float* O = a.out + i0 * a.ldo;
    for (long i = 0; i < bq; ++i)
      for (long p = 0; p < a.dv; ++p) O[i * a.ldo + p] = 0.0f;
    for (long i = 0; i < bq; ++i) { mrow[i] = -__builtin_inff(); lrow[i] = 0.0f; }
    const long kEnd = lastKeyBlockEnd(a, i0 + bq);
    for (long j0 = 0; j0 < kEnd; j0 += ABK) {
      const long bk = kEnd - j0 < ABK ? kEnd - j0 : ABK;
      scoreBlock(a, i0, bq, j0, bk, S);
      for (long i = 0; i < bq; ++i) {
        float* s = S + i * ABK;
        const float bm = rowMax(s, bk);
        const float mold = mrow[i];
        const float mnew = bm > mold ? bm : mold;
        if (mnew == -__builtin_inff()) {
          for (long j = 0; j < bk; ++j) s[j] = 0.0f;
          continue;
        }
        float sum = 0.0f;
        TSF_SIMD_SUM(sum)
        for (long j = 0; j < bk; ++j) { const float e = fexp(s[j] - mnew); s[j] = e; sum += e; }
        if (mnew != mold) {
          const float corr = fexp(mold - mnew);
          float* o = O + i * a.ldo;
          TSF_SIMD for (long p = 0; p < a.dv; ++p) o[p] *= corr;
          lrow[i] = lrow[i] * corr + sum;
          mrow[i] = mnew;
        } else {
          lrow[i] += sum;
        }
      }
      GemmCall g{false, false, bq, a.dv, bk, 1.0f, S, ABK, a.v + j0 * a.ldv, a.ldv, 1.0f, O, a.ldo};
      gemmST(g);
    }
    for (long i = 0; i < bq; ++i) {
      float* o = O + i * a.ldo;
      if (mrow[i] == -__builtin_inff()) {
        for (long p = 0; p < a.dv; ++p) o[p] = 0.0f;
        a.lse[i0 + i] = __builtin_inff();
        continue;
      }
      const float inv = 1.0f / lrow[i];
      TSF_SIMD for (long p = 0; p < a.dv; ++p) o[p] *= inv;
      a.lse[i0 + i] = mrow[i] + logf(lrow[i]);
    }
  }
}

// P = exp(S - lse) and dS = P * (dP - delta) * scale for one block; P stays in S, dS in dP.
static void attnBwdBlock(const AttnBwdCall& b, long i0, long bq, long j0, long bk, float* S, float* dP) {
  const AttnCall& a = b.f;
  scoreBlock(a, i0, bq, j0, bk, S);
  GemmCall g{false, true, bq, bk, a.dv, 1.0f, b.dout + i0 * a.ldo, a.ldo, a.v + j0 * a.ldv, a.ldv, 0.0f, dP, ABK};
  gemmST(g);
  for (long i = 0; i < bq; ++i) {
    float* s = S + i * ABK;
    float* dp = dP + i * ABK;
    const float L = a.lse[i0 + i];
    const float D = b.delta[i0 + i];
    if (L == __builtin_inff()) {
      for (long j = 0; j < bk; ++j) { s[j] = 0.0f; dp[j] = 0.0f; }
      continue;
    }
    const float sc = a.scale;
    TSF_SIMD for (long j = 0; j < bk; ++j) {
      const float p = fexp(s[j] - L);
      s[j] = p;
      dp[j] = p * (dp[j] - D) * sc;
    }
  }
}

static void attentionBackward(const AttnBwdCall& b) {
  const AttnCall& a = b.f;
  if (b.pass == 2) { attentionBackwardSmall(b); return; }
  float* S = ensureBuf(g_attnBuf, g_attnCap, (size_t)(2 * ABQ * ABK + 2 * ABQ));
  if (!S) return;
  float* dP = S + ABQ * ABK;
  if (b.pass == 0) {
    // dq for query rows [q0, q1)
    for (long i0 = a.q0; i0 < a.q1; i0 += ABQ) {
      const long bq = a.q1 - i0 < ABQ ? a.q1 - i0 : ABQ;
      float* dq = b.dq + i0 * a.ldq;
      for (long i = 0; i < bq; ++i)
        for (long p = 0; p < a.d; ++p) dq[i * a.ldq + p] = 0.0f;
      const long kEnd = lastKeyBlockEnd(a, i0 + bq);
      for (long j0 = 0; j0 < kEnd; j0 += ABK) {
        const long bk = kEnd - j0 < ABK ? kEnd - j0 : ABK;
        attnBwdBlock(b, i0, bq, j0, bk, S, dP);
        GemmCall g{false, false, bq, a.d, bk, 1.0f, dP, ABK, a.k + j0 * a.ldk, a.ldk, 1.0f, dq, a.ldq};
        gemmST(g);
      }
    }
  } else {
    // dk, dv for keys [k0, k1)
    for (long j0 = b.k0; j0 < b.k1; j0 += ABK) {
      const long bk = b.k1 - j0 < ABK ? b.k1 - j0 : ABK;
      float* dk = b.dk + j0 * a.ldk;
      float* dv = b.dvv + j0 * a.ldv;
      for (long i = 0; i < bk; ++i) {
        for (long p = 0; p < a.d; ++p) dk[i * a.ldk + p] = 0.0f;
        for (long p = 0; p < a.dv; ++p) dv[i * a.ldv + p] = 0.0f;
      }
      // first query row that can see key j0 under the causal rule: i >= j0 - offset
      long qStart = 0;
      if (a.causal) {
        qStart = j0 - a.causalOffset;
        if (qStart < 0) qStart = 0;
        qStart = (qStart / ABQ) * ABQ;
      }
      for (long i0 = qStart; i0 < a.tq; i0 += ABQ) {
        const long bq = a.tq - i0 < ABQ ? a.tq - i0 : ABQ;
        attnBwdBlock(b, i0, bq, j0, bk, S, dP);
        GemmCall gv{true, false, bk, a.dv, bq, 1.0f, S, ABK, b.dout + i0 * a.ldo, a.ldo, 1.0f, dv, a.ldv};
        gemmST(gv);
        GemmCall gk{true, false, bk, a.d, bq, 1.0f, dP, ABK, a.q + i0 * a.ldq, a.ldq, 1.0f, dk, a.ldk};
        gemmST(gk);
      }
    }
  }
}

// The machine's arithmetic peak, for the benchmark's roofline: iters steps of kFmaChains
// independent vector multiply-adds (enough chains to cover the FMA latency on every ISA here).
// Returns a value that depends on every chain, so the loop cannot be dropped.
constexpr int kFmaChains = 12;
static float fmaLoop(long iters) {
  VF acc[kFmaChains];
  for (int c = 0; c < kFmaChains; ++c) acc[c] = vsplat(1e-3f * (float)(c + 1));
  const VF mul = vsplat(0.999f), add = vsplat(1e-4f);
  for (long it = 0; it < iters; ++it) {
#pragma GCC unroll 12
    for (int c = 0; c < kFmaChains; ++c) acc[c] = acc[c] * mul + add;
  }
  float s = 0.0f;
  for (int c = 0; c < kFmaChains; ++c) s += acc[c][0];
  return s;
}

#define TSF_KERNEL_TABLE(NAME, NS)                                                             \
  {                                                                                            \
    NAME, NS::MR, NS::NR, &NS::gemmST, &NS::gemmPar, &NS::softmax, &NS::softmaxBackward, &NS::logSoftmax,    \
        &NS::logSoftmaxBackward, &NS::layerNorm, &NS::layerNormBackward, &NS::crossEntropy,    \
        &NS::adamw, &NS::unary, &NS::unaryBackward, &NS::binaryBcast, &NS::binaryRowBcast,     \
        &NS::attention, &NS::attentionBackward, &NS::colSum, NS::VL * NS::kFmaChains, &NS::fmaLoop   \
  }
