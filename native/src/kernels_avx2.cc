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
  // As in kernels_avx512.cc: the first mr steps fetch the C tile's rows (and the addend's), and
  // with A read in place every step fetches a line of the next tile's rows.
  long p = 0;
  const long pre = kc < mr ? kc : mr;
  for (; p < pre; ++p) {
    _mm_prefetch((const char*)(C + p * ldc), _MM_HINT_T0);
    if (addend) _mm_prefetch((const char*)(addend + p * ldc), _MM_HINT_T0);
    step();
  }
  if (nextA) {
    int ri = 0;
    long ci = 0;
    for (; p < kc; ++p) {
      _mm_prefetch((const char*)(nextA + ri * rsA + ci), _MM_HINT_T0);
      if (++ri == MR) { ri = 0; ci += 16; }
      step();
    }
  } else {
    for (; p < kc; ++p) step();
  }
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
