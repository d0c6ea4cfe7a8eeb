// Run-time ISA selection and the multi-threaded batched GEMM driver.
#include "dispatch.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "threadpool.h"

namespace tsf {
namespace {

bool cpuHas(const char* name) {
  if (std::strcmp(name, "generic") == 0) return true;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  if (std::strcmp(name, "avx2") == 0)
    return tableAvx2() && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (std::strcmp(name, "avx512") == 0)
    return tableAvx512() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
  return false;
}

const KernelTable* byName(const char* name) {
  if (std::strcmp(name, "avx512") == 0) return tableAvx512();
  if (std::strcmp(name, "avx2") == 0) return tableAvx2();
  if (std::strcmp(name, "generic") == 0) return tableGeneric();
  return nullptr;
}

const KernelTable* choose() {
  const char* force = std::getenv("TSFORMER_FORCE_ISA");
  if (force && *force && cpuHas(force) && byName(force)) return byName(force);
  if (cpuHas("avx512")) return tableAvx512();
  if (cpuHas("avx2")) return tableAvx2();
  return tableGeneric();
}

const KernelTable* g_table = nullptr;


}  // namespace

const KernelTable* table() {
  if (!g_table) g_table = choose();
  return g_table;
}

bool isaSupported(const char* name) { return byName(name) != nullptr && cpuHas(name); }

bool setIsa(const char* name) {
  if (!isaSupported(name)) return false;
  g_table = byName(name);
  return true;
}

namespace {
void poolRunner(long n, TaskFn fn, void* ctx) {
  parallelFor(n, [fn, ctx](long i) { fn(ctx, i); });
}
}  // namespace

void gemmBatched(const GemmBatch& gb) {
  const KernelTable* t = table();
  const GemmCall& g = gb.g;
  if (gb.batch <= 0 || g.m <= 0 || g.n <= 0) return;
  const double flops = 2.0 * g.m * g.n * (double)std::max(g.k, 1L) * gb.batch;
  const int nt = numThreads();
  auto item = [&](long b) {
    GemmCall c = g;
    c.a = g.a + b * gb.strideA;
    c.b = g.b + b * gb.strideB;
    c.c = g.c + b * gb.strideC;
    if (g.addend) c.addend = g.addend + b * gb.strideC;
    return c;
  };
  if (nt <= 1 || flops < 3.0e6) {
    for (long b = 0; b < gb.batch; ++b) t->gemm(item(b));
    return;
  }
  // C matrices of different batch items must not overlap to run them concurrently.
  const long cExtent = (g.m - 1) * g.ldc + g.n;
  const bool batchParallel = gb.batch > 1 && gb.strideC >= cExtent;
  if (batchParallel && (gb.batch >= 4L * nt || flops / gb.batch < 4.0e6)) {
    parallelFor(gb.batch, [&](long b) { t->gemm(item(b)); });
    return;
  }
  // Few (or overlapping) items: each one on all threads, B packed once and shared.
  for (long b = 0; b < gb.batch; ++b) {
    const GemmCall c = item(b);
    if (flops / gb.batch < 1.0e6) t->gemm(c);
    else t->gemmPar(c, nt, poolRunner);
  }
}

}  // namespace tsf
