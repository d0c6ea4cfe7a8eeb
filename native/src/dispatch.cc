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

long gcdl(long a, long b) { while (b) { long t = a % b; a = b; b = t; } return a; }

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
    return c;
  };
  if (nt <= 1 || flops < 3.0e6) {
    for (long b = 0; b < gb.batch; ++b) t->gemm(item(b));
    return;
  }
  // C matrices of different batch items must not overlap to run them concurrently.
  const long cExtent = (g.m - 1) * g.ldc + g.n;
  const bool batchParallel = gb.batch > 1 && gb.strideC >= cExtent;
  const long par = batchParallel ? gb.batch : 1;
  long splits = 1;
  if (par < 8L * nt) splits = nt / gcdl(par, nt);
  // Split the larger of M and N, in units of the micro-tile.
  const bool splitN = g.n >= g.m;
  const long units = splitN ? (g.n + t->gemmNR - 1) / t->gemmNR : (g.m + t->gemmMR - 1) / t->gemmMR;
  // Big items: a few chunks per thread, so a thread that loses its core (another process,
  // a busy machine) does not hold up the call; chunks keep at least 4 micro-tiles.
  const double itemFlops = 2.0 * g.m * g.n * (double)g.k;
  if (itemFlops > 5.0e7 && par < 4L * nt) splits = std::max(splits, (4L * nt + par - 1) / par);
  splits = std::max(1L, std::min(splits, std::max(1L, units / 4)));
  const long per = (units + splits - 1) / splits;
  splits = (units + per - 1) / per;
  const long unit = splitN ? t->gemmNR : t->gemmMR;
  auto runSplit = [&](const GemmCall& base, long s) {
    GemmCall c = base;
    const long lo = s * per * unit;
    if (splitN) {
      const long hi = std::min(g.n, lo + per * unit);
      if (lo >= hi) return;
      c.n = hi - lo;
      c.b = base.tb ? base.b + lo * base.ldb : base.b + lo;
      c.c = base.c + lo;
    } else {
      const long hi = std::min(g.m, lo + per * unit);
      if (lo >= hi) return;
      c.m = hi - lo;
      c.a = base.ta ? base.a + lo : base.a + lo * base.lda;
      c.c = base.c + lo * base.ldc;
    }
    t->gemm(c);
  };
  if (batchParallel) {
    parallelFor(gb.batch * splits, [&](long i) { runSplit(item(i / splits), i % splits); });
  } else {
    for (long b = 0; b < gb.batch; ++b) {
      const GemmCall base = item(b);
      if (splits == 1) t->gemm(base);
      else parallelFor(splits, [&](long s) { runSplit(base, s); });
    }
  }
}

}  // namespace tsf
