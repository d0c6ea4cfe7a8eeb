// AVX2 + FMA kernels. Compiled with a target pragma (not -march), selected at run time.
#include "common.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,bmi2,f16c"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,bmi2,f16c")
#endif

namespace tsf {
namespace isa_avx2 {
namespace {

constexpr int MR = 6;
constexpr int NV = 2;
constexpr int NR = NV * 8;
constexpr long KC = 256;
constexpr long MC = 6 * 24;
constexpr long NC = 4096;
constexpr int VL = 8;

#include "ukr_loop.h"

__attribute__((always_inline)) inline void ukr(long kc, const float* A, long rsA, long csA, const float* B, float* C, long ldc,
                                              float beta, int mr, int nr, const float* bias, const float* addend,
                                              const float* nextA = nullptr) {
  __m256 acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) acc[i][j] = _mm256_setzero_ps();
  auto step = [&]() __attribute__((always_inline)) {
    __m256 b[NV];
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) b[j] = _mm256_load_ps(B + j * 8);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const __m256 a = _mm256_broadcast_ss(A + i * rsA);
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) acc[i][j] = _mm256_fmadd_ps(a, b[j], acc[i][j]);
    }
    A += csA;
    B += NR;
  };
  kLoop<MR, 1>(kc, mr, C, ldc, addend, nextA, rsA, step);
  // Epilogue: C = acc (+ bias) (+ addend) (+ beta C), written once (see kernels_avx512.cc).
  if (mr == MR && nr == NR) {  // the branches below are the same for every tile of a call
    __m256 bb[NV];
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) bb[j] = bias ? _mm256_loadu_ps(bias + j * 8) : _mm256_setzero_ps();
    const __m256 bv = _mm256_set1_ps(beta);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) {
        float* c = C + i * ldc + j * 8;
        __m256 r = acc[i][j];
        if (bias) r = _mm256_add_ps(r, bb[j]);
        if (addend) r = _mm256_add_ps(r, _mm256_loadu_ps(addend + i * ldc + j * 8));
        if (beta != 0.0f) r = _mm256_fmadd_ps(bv, _mm256_loadu_ps(c), r);
        _mm256_storeu_ps(c, r);
      }
    return;
  }
  alignas(32) float tmp[MR * NR];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) _mm256_store_ps(tmp + i * NR + j * 8, acc[i][j]);
  for (int i = 0; i < mr; ++i) {
    float* c = C + i * ldc;
    const float* t = tmp + i * NR;
    const float* ad = addend ? addend + i * ldc : nullptr;
    for (int j = 0; j < nr; ++j) {
      float r = t[j];
      if (bias) r += bias[j];
      if (ad) r += ad[j];
      c[j] = beta == 0.0f ? r : beta * c[j] + r;
    }
  }
}

#define TSF_UKR_NEXT_A 1

// One column of an A panel, MR = 6 floats stored as 4 + 2 (packing a row-major A through
// transposeBlock below: the scalar loop was 8-11% of m2048 n256 k1024 here as well).
static_assert(MR == 6, "a panel column is stored as 4 + 2 floats");
static inline void storeColumn(float* d, __m256 v) {
  _mm_storeu_ps(d, _mm256_castps256_ps128(v));
  _mm_storel_pi((__m64*)(d + 4), _mm256_extractf128_ps(v, 1));
}
// Transpose 8 vectors in registers: o[c] lane r = r[r] lane c.
static inline void transpose8r(const __m256 r[8], __m256 o[8]) {
  __m256 t[8], u[8];
#pragma GCC unroll 4
  for (int i = 0; i < 8; i += 2) {  // lane L: rows i, i+1 at columns 2L.., interleaved
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
#pragma GCC unroll 2
  for (int g = 0; g < 8; g += 4) {  // u[g + c]: rows g..g+3 of column c (low half), c + 4 (high)
    u[g] = _mm256_shuffle_ps(t[g], t[g + 2], 0x44);
    u[g + 1] = _mm256_shuffle_ps(t[g], t[g + 2], 0xEE);
    u[g + 2] = _mm256_shuffle_ps(t[g + 1], t[g + 3], 0x44);
    u[g + 3] = _mm256_shuffle_ps(t[g + 1], t[g + 3], 0xEE);
  }
#pragma GCC unroll 4
  for (int c = 0; c < 4; ++c) {
    o[c] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x20);
    o[4 + c] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x31);
  }
}

// dst[c * ldd + r] = alpha * src[r * lds + c] for r < ROWS, c < 8: ROWS rows in (the rest
// zero), transposed in registers, ROWS lanes stored per column (8, or a panel's MR = 6 as 4 + 2).
// gemm_impl.h packs A and B panels with it (packAPanelRows, packBPanelT).
constexpr int kTransposeBlock = 8;
template <int ROWS>
static inline void transposeBlock(const float* src, long lds, float alpha, float* dst, long ldd) {
  static_assert(ROWS == 8 || ROWS == MR, "whole vectors or panel columns");
  const __m256 av = _mm256_set1_ps(alpha);
  __m256 r[8], o[8];
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) r[i] = i < ROWS ? _mm256_loadu_ps(src + i * lds) : _mm256_setzero_ps();
  transpose8r(r, o);
#pragma GCC unroll 8
  for (int c = 0; c < 8; ++c) {
    if (ROWS == 8) _mm256_storeu_ps(dst + c * ldd, _mm256_mul_ps(av, o[c]));
    else storeColumn(dst + c * ldd, _mm256_mul_ps(av, o[c]));
  }
}
#define TSF_TRANSPOSE_BLOCK 1

// d[i] = alpha * s[i] for i < MR: one row of a panel of a transposed A
static inline void packAPanelCopy(const float* s, float alpha, float* d) {
  const __m256 v = _mm256_mul_ps(_mm256_set1_ps(alpha),
                                 _mm256_set_m128(_mm_loadl_pi(_mm_setzero_ps(), (const __m64*)(s + 4)), _mm_loadu_ps(s)));
  storeColumn(d, v);
}
#define TSF_PACK_A_PANEL 1

#include "gemm_impl.h"
#include "kernels_impl.h"

}  // namespace
}  // namespace isa_avx2

static const KernelTable kTableAvx2 = TSF_KERNEL_TABLE("avx2", isa_avx2);
const KernelTable* tableAvx2() { return &kTableAvx2; }
}  // namespace tsf

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#else
namespace tsf { const KernelTable* tableAvx2() { return nullptr; } }
#endif
