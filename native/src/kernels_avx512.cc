// AVX-512F + FMA kernels. Compiled with a target pragma (not -march), selected at run time.
#include "common.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma,bmi2,f16c"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma,bmi2,f16c")
// GCC 12's AVX-512 headers pass _mm512_undefined_ps() to the masked builtins behind the
// unmasked shuffles and gathers, and then warn that it is uninitialised (a false positive)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace tsf {
namespace isa_avx512 {
namespace {

constexpr int MR = 14;
constexpr int NV = 2;          // zmm vectors per micro-tile row
constexpr int NR = NV * 16;
constexpr long KC = 384;
constexpr long MC = 14 * 20;
constexpr long NC = 4096;
constexpr int VL = 16;         // lanes of the ISA's vector (kernels_impl.h)

static inline __mmask16 tailMask(int n) { return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u); }

#include "ukr_loop.h"

// ROWS < MR computes only the first ROWS rows of the panel: the ragged last panel of a short M
// (16 = 14 + 2 rows) then costs 2 rows' work, not 14 (gemm_impl.h picks ROWS).
template <int ROWS = MR>
__attribute__((always_inline)) inline void ukr(long kc, const float* A, long rsA, long csA, const float* B, float* C, long ldc,
                                              float beta, int mr, int nr, const float* bias, const float* addend,
                                              const float* nextA = nullptr) {
  __m512 acc[ROWS][NV];
#pragma GCC unroll 16
  for (int i = 0; i < ROWS; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) acc[i][j] = _mm512_setzero_ps();
  auto step = [&]() __attribute__((always_inline)) {
    __m512 b[NV];
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) b[j] = _mm512_load_ps(B + j * 16);
    _mm_prefetch((const char*)(B + 8 * NR), _MM_HINT_T0);
#pragma GCC unroll 16
    for (int i = 0; i < ROWS; ++i) {
      const __m512 a = _mm512_set1_ps(A[i * rsA]);
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) acc[i][j] = _mm512_fmadd_ps(a, b[j], acc[i][j]);
    }
    A += csA;
    B += NR;
  };
  kLoop<ROWS, NV>(kc, mr, C, ldc, addend, nextA, rsA, step);
  // Epilogue: C = acc (+ bias) (+ addend) (+ beta C), written once. Adding the bias and the
  // residual here rather than in C beforehand saves a pass over a C tile that is usually not
  // yet in cache (m1576 n768 k192: 175 -> 210 GFLOP/s).
  if (mr == ROWS && nr == NR) {  // the branches below are the same for every tile of a call
    __m512 bb[NV];
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) bb[j] = bias ? _mm512_loadu_ps(bias + j * 16) : _mm512_setzero_ps();
    const __m512 bv = _mm512_set1_ps(beta);
#pragma GCC unroll 16
    for (int i = 0; i < ROWS; ++i)
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) {
        float* c = C + i * ldc + j * 16;
        __m512 r = acc[i][j];
        if (bias) r = _mm512_add_ps(r, bb[j]);
        if (addend) r = _mm512_add_ps(r, _mm512_loadu_ps(addend + i * ldc + j * 16));
        if (beta != 0.0f) r = _mm512_fmadd_ps(bv, _mm512_loadu_ps(c), r);
        _mm512_storeu_ps(c, r);
      }
    return;
  }
  __mmask16 mk[NV];
#pragma GCC unroll 4
  for (int j = 0; j < NV; ++j) {
    int rem = nr - j * 16;
    mk[j] = rem <= 0 ? (__mmask16)0 : tailMask(rem);
  }
  __m512 bb[NV];
#pragma GCC unroll 4
  for (int j = 0; j < NV; ++j) bb[j] = bias ? _mm512_maskz_loadu_ps(mk[j], bias + j * 16) : _mm512_setzero_ps();
  const __m512 bv = _mm512_set1_ps(beta);
#pragma GCC unroll 16
  for (int i = 0; i < ROWS; ++i) {
    if (i >= mr) break;
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) {
      float* c = C + i * ldc + j * 16;
      __m512 r = _mm512_add_ps(acc[i][j], bb[j]);
      if (addend) r = _mm512_add_ps(r, _mm512_maskz_loadu_ps(mk[j], addend + i * ldc + j * 16));
      if (beta != 0.0f) r = _mm512_fmadd_ps(bv, _mm512_maskz_loadu_ps(mk[j], c), r);
      _mm512_mask_storeu_ps(c, mk[j], r);
    }
  }
}

#define TSF_UKR_ROWS 1
#define TSF_UKR_NEXT_A 1

// dst[l] = src[l * stride] for l < 16 (kernels_impl.h transposes attention keys with it)
static inline void gather16(float* dst, const float* src, long stride) {
  const __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                         _mm512_set1_epi32((int)stride));
  _mm512_storeu_ps(dst, _mm512_i32gather_ps(idx, src, 4));
}
#define TSF_GATHER16(dst, src, stride) gather16(dst, src, stride)

// Transpose 16 vectors in registers: out[c] lane r = r[r] lane c. Four rounds of shuffles (pairs
// of floats, pairs of pairs, then 128-bit lanes twice).
static inline void transpose16r(const __m512 r[16], __m512 out[16]) {
  __m512 t[16], u[16];
#pragma GCC unroll 8
  for (int i = 0; i < 16; i += 2) {  // lane L: rows i, i+1 at columns 4L, 4L+1 (lo) or 4L+2, 4L+3 (hi)
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
#pragma GCC unroll 4
  for (int g = 0; g < 16; g += 4) {  // u[g + c], lane L: rows g..g+3 at column 4L + c
    const __m512d a0 = _mm512_castps_pd(t[g]), a1 = _mm512_castps_pd(t[g + 1]);
    const __m512d a2 = _mm512_castps_pd(t[g + 2]), a3 = _mm512_castps_pd(t[g + 3]);
    u[g] = _mm512_castpd_ps(_mm512_unpacklo_pd(a0, a2));
    u[g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a0, a2));
    u[g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(a1, a3));
    u[g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(a1, a3));
  }
#pragma GCC unroll 4
  for (int c = 0; c < 4; ++c) {  // column 4L + c gathers lane L of u[c], u[4 + c], u[8 + c], u[12 + c]
    const __m512 v = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x88), w = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xDD);
    const __m512 v2 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x88), w2 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xDD);
    out[c] = _mm512_shuffle_f32x4(v, v2, 0x88);
    out[4 + c] = _mm512_shuffle_f32x4(w, w2, 0x88);
    out[8 + c] = _mm512_shuffle_f32x4(v, v2, 0xDD);
    out[12 + c] = _mm512_shuffle_f32x4(w, w2, 0xDD);
  }
}

// dst[c * ldd + r] = alpha * src[r * lds + c] for r < ROWS, c < 16: ROWS rows in (the rest
// zero), transposed in registers, ROWS lanes stored per column. gemm_impl.h packs A and B panels
// with it (packAPanelRows, packBPanelT); the attention kernels transpose keys with it.
constexpr int kTransposeBlock = 16;
static_assert(MR <= kTransposeBlock, "a panel's rows fit one transpose block");
template <int ROWS>
static inline void transposeBlock(const float* src, long lds, float alpha, float* dst, long ldd) {
  const __m512 av = _mm512_set1_ps(alpha);
  const __mmask16 lanes = (__mmask16)((1u << ROWS) - 1u);
  __m512 r[16], o[16];
#pragma GCC unroll 16
  for (int i = 0; i < 16; ++i) r[i] = i < ROWS ? _mm512_loadu_ps(src + i * lds) : _mm512_setzero_ps();
  transpose16r(r, o);
#pragma GCC unroll 16
  for (int c = 0; c < 16; ++c) _mm512_mask_storeu_ps(dst + c * ldd, lanes, _mm512_mul_ps(av, o[c]));
}
#define TSF_TRANSPOSE16(src, lds, dst, ldd) transposeBlock<16>(src, lds, 1.0f, dst, ldd)
#define TSF_TRANSPOSE_BLOCK 1

// d[i] = alpha * s[i] for i < MR: one row of a panel of a transposed A
static inline void packAPanelCopy(const float* s, float alpha, float* d) {
  const __mmask16 rows = (__mmask16)((1u << MR) - 1u);
  _mm512_mask_storeu_ps(d, rows, _mm512_mul_ps(_mm512_set1_ps(alpha), _mm512_maskz_loadu_ps(rows, s)));
}
#define TSF_PACK_A_PANEL 1

#include "gemm_impl.h"
#include "kernels_impl.h"

}  // namespace
}  // namespace isa_avx512

static const KernelTable kTableAvx512 = TSF_KERNEL_TABLE("avx512", isa_avx512);
const KernelTable* tableAvx512() { return &kTableAvx512; }
}  // namespace tsf

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#else
namespace tsf { const KernelTable* tableAvx512() { return nullptr; } }
#endif
