// Portable kernels (baseline ISA of the compiler: SSE2 on x86-64, NEON on arm64), written so
// that the compiler auto-vectorises the inner loops.
#include "common.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

namespace tsf {
namespace isa_generic {
namespace {

constexpr int MR = 4;
constexpr int NR = 16;
constexpr long KC = 256;
constexpr long MC = 4 * 32;
constexpr long NC = 2048;
constexpr int VL = 4;

inline void ukr(long kc, const float* A, long rsA, long csA, const float* B, float* C, long ldc, float beta, int mr, int nr,
                const float* bias, const float* addend) {
  float acc[MR][NR];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) acc[i][j] = 0.0f;
  for (long p = 0; p < kc; ++p) {
    for (int i = 0; i < MR; ++i) {
      const float a = A[i * rsA];
      for (int j = 0; j < NR; ++j) acc[i][j] += a * B[j];
    }
    A += csA;
    B += NR;
  }
  // Epilogue: C = acc (+ bias) (+ addend) (+ beta C), written once
  for (int i = 0; i < mr; ++i) {
    float* c = C + i * ldc;
    if (bias) for (int j = 0; j < nr; ++j) acc[i][j] += bias[j];
    if (addend) for (int j = 0; j < nr; ++j) acc[i][j] += addend[i * ldc + j];
    if (beta == 0.0f) for (int j = 0; j < nr; ++j) c[j] = acc[i][j];
    else for (int j = 0; j < nr; ++j) c[j] = beta * c[j] + acc[i][j];
  }
}

#include "gemm_impl.h"
#include "kernels_impl.h"

}  // namespace
}  // namespace isa_generic

static const KernelTable kTableGeneric = TSF_KERNEL_TABLE("generic", isa_generic);
const KernelTable* tableGeneric() { return &kTableGeneric; }
}  // namespace tsf
