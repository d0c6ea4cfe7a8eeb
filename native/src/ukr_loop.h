// The micro-kernel's k loop with its prefetches, shared by the ISA files (included inside each
// ISA's namespace and target region, like gemm_impl.h, before its ukr). step() does one k step
// of the MR x NR tile; LINES is NR / 16, the cache lines of a C row.
//
// The first mr steps each fetch one row of the C tile (and of the addend) that the epilogue
// will store: C is usually a new activation in no cache, and with K = 64-192 the stores at the
// end otherwise wait on memory. When A is read in place (nextA: the next tile's rows, rsA apart)
// every later step fetches one cache line of those rows, row by row: fourteen rows of new
// activations are more streams than the prefetchers follow (m6400 n64 k128 with A not in cache,
// AVX-512: 145 -> 208 GFLOP/s).
template <int ROWS, int LINES, class Step>
__attribute__((always_inline)) inline void kLoop(long kc, int mr, const float* C, long ldc, const float* addend,
                                                const float* nextA, long rsA, Step&& step) {
  long p = 0;
  const long pre = kc < mr ? kc : mr;
  for (; p < pre; ++p) {
#pragma GCC unroll 4
    for (int j = 0; j < LINES; ++j) {
      _mm_prefetch((const char*)(C + p * ldc + j * 16), _MM_HINT_T0);
      if (addend) _mm_prefetch((const char*)(addend + p * ldc + j * 16), _MM_HINT_T0);
    }
    step();
  }
  if (nextA) {
    int ri = 0;
    long ci = 0;
    for (; p < kc; ++p) {
      _mm_prefetch((const char*)(nextA + ri * rsA + ci), _MM_HINT_T0);
      if (++ri == ROWS) { ri = 0; ci += 16; }
      step();
    }
  } else {
    for (; p < kc; ++p) step();
  }
}
