// Blocked, packed single-threaded SGEMM (GotoBLAS/BLIS loop structure).
// Included inside an ISA-specific anonymous namespace that defines:
//   constexpr int MR, NR; constexpr long KC, MC, NC;
//   void ukr(long kc, const float* A, long rsA, long csA, const float* B, float* C, long ldc,
//            float beta, int mr, int nr, const float* bias, const float* addend);
// The micro-kernel writes C = A B (+ bias) (+ addend) (+ beta C) for its mr x nr tile; bias (nr
// columns) and addend (mr x nr, row stride ldc) may be null.
// A micro-panels are MR x kc, element (i, p) at A[i * rsA + p * csA]: packed (rsA = 1, csA = MR,
// alpha applied, zero-padded to MR rows) or, for a narrow N, read in place from a row-major A
// (rsA = lda, csA = 1, alpha == 1, all MR rows present). B micro-panels are kc x NR (row-major
// within the panel), zero-padded to NR.

static thread_local float* g_packA = nullptr;
static thread_local size_t g_packACap = 0;
static thread_local float* g_packB = nullptr;
static thread_local size_t g_packBCap = 0;

static float* ensureBuf(float*& buf, size_t& cap, size_t n) {
  if (n > cap) {
    free(buf);
    size_t bytes = ((n * sizeof(float)) + 63) & ~size_t(63);
    buf = static_cast<float*>(aligned_alloc(64, bytes));
    cap = buf ? n : 0;
  }
  return buf;
}

#ifdef TSF_TRANSPOSE_BLOCK
// Panels packed by the ISA's register transpose (transposeBlock, kTransposeBlock square): the
// scalar loops stored one float every MR or NR.
//
// A full MR-row panel of a row-major A: d[p * MR + i] = alpha * s[i * lda + p] (12-15% of
// m2048 n256 k1024, a Transformer's second FF layer and its input gradient, as a scalar loop).
static void packAPanelRows(const float* s, long lda, long kc, float alpha, float* d) {
  long p = 0;
  for (; p + kTransposeBlock <= kc; p += kTransposeBlock) transposeBlock<MR>(s + p, lda, alpha, d + p * MR, MR);
  for (; p < kc; ++p)
    for (int i = 0; i < MR; ++i) d[p * MR + i] = alpha * s[i * lda + p];
}
// A full NR-column panel of a transposed B (op(B)[p][j] = s[j * ldb + p], a Linear layer's weight
// in x W^T): d[p * NR + j] = s[j * ldb + p]. ViT-Ti's patch embedding (8 x m196 n192 k768) 2.52
// -> 2.22 ms on AVX-512, 2.54 -> 2.42 on AVX2.
static_assert(NR % kTransposeBlock == 0, "a panel is whole transpose blocks wide");
static void packBPanelT(const float* s, long ldb, long kc, float* d) {
  long p = 0;
  for (; p + kTransposeBlock <= kc; p += kTransposeBlock)
    for (int jb = 0; jb < NR; jb += kTransposeBlock)
      transposeBlock<kTransposeBlock>(s + jb * ldb + p, ldb, 1.0f, d + p * NR + jb, NR);
  for (; p < kc; ++p)
    for (int j = 0; j < NR; ++j) d[p * NR + j] = s[j * ldb + p];
}
#endif

// Pack rows [i0, i0+mc) x cols [p0, p0+kc) of op(A), times alpha. With the ISA's vector code,
// full panels of a row-major A go through packAPanelRows (above), of a transposed A through
// packAPanelCopy (MR floats, TSF_PACK_A_PANEL).
static void packA(const GemmCall& g, long i0, long mc, long p0, long kc, float* dst) {
  const float alpha = g.alpha;
  const long mFull = (mc / MR) * MR;
  if (g.ta) {
    // op(A)[i][p] = a[p*lda + i]: row p of a feeds every panel, so walk p outside and read each
    // row once, left to right (panel by panel, the rows' cache lines came back up to MR / 16
    // times, and rows a multiple of 4 KiB apart evicted each other)
    for (long p = 0; p < kc; ++p) {
      const float* s = g.a + (p0 + p) * g.lda + i0;
      for (long ir = 0; ir < mFull; ir += MR) {
        float* dp = dst + ir * kc + p * MR;
#ifdef TSF_PACK_A_PANEL
        packAPanelCopy(s + ir, alpha, dp);
#else
        for (int ii = 0; ii < MR; ++ii) dp[ii] = alpha * s[ir + ii];
#endif
      }
    }
    if (mFull < mc) {
      const int mr = (int)(mc - mFull);
      float* d = dst + mFull * kc;
      for (long p = 0; p < kc; ++p) {
        const float* s = g.a + (p0 + p) * g.lda + i0 + mFull;
        float* dp = d + p * MR;
        int ii = 0;
        for (; ii < mr; ++ii) dp[ii] = alpha * s[ii];
        for (; ii < MR; ++ii) dp[ii] = 0.0f;
      }
    }
    return;
  }
  // op(A)[i][p] = a[i*lda + p]
  for (long ir = 0; ir < mc; ir += MR) {
    const int mr = (int)(mc - ir < MR ? mc - ir : MR);
    float* d = dst + ir * kc;
#ifdef TSF_TRANSPOSE_BLOCK
    if (mr == MR) { packAPanelRows(g.a + (i0 + ir) * g.lda + p0, g.lda, kc, alpha, d); continue; }
#endif
    for (int ii = 0; ii < mr; ++ii) {
      const float* s = g.a + (i0 + ir + ii) * g.lda + p0;
      for (long p = 0; p < kc; ++p) d[p * MR + ii] = alpha * s[p];
    }
    for (int ii = mr; ii < MR; ++ii)
      for (long p = 0; p < kc; ++p) d[p * MR + ii] = 0.0f;
  }
}

// Pack rows [p0, p0+kc) x cols [j0, j0+nc) of op(B), one NR-wide panel after the other.
static void packBPanels(const GemmCall& g, long p0, long kc, long j0, long nc, float* dst) {
  for (long jr = 0; jr < nc; jr += NR) {
    const int nr = (int)(nc - jr < NR ? nc - jr : NR);
    float* d = dst + jr * kc;
    if (!g.tb) {
      // op(B)[p][j] = b[p*ldb + j]
      if (nr == NR) {
        for (long p = 0; p < kc; ++p) {
          const float* s = g.b + (p0 + p) * g.ldb + j0 + jr;
          float* dp = d + p * NR;
          for (int jj = 0; jj < NR; ++jj) dp[jj] = s[jj];
        }
      } else {
        for (long p = 0; p < kc; ++p) {
          const float* s = g.b + (p0 + p) * g.ldb + j0 + jr;
          float* dp = d + p * NR;
          int jj = 0;
          for (; jj < nr; ++jj) dp[jj] = s[jj];
          for (; jj < NR; ++jj) dp[jj] = 0.0f;
        }
      }
    } else {
      // op(B)[p][j] = b[j*ldb + p]
#ifdef TSF_TRANSPOSE_BLOCK
      if (nr == NR) { packBPanelT(g.b + (j0 + jr) * g.ldb + p0, g.ldb, kc, d); continue; }
#endif
      for (int jj = 0; jj < nr; ++jj) {
        const float* s = g.b + (j0 + jr + jj) * g.ldb + p0;
        for (long p = 0; p < kc; ++p) d[p * NR + jj] = s[p];
      }
      for (int jj = nr; jj < NR; ++jj)
        for (long p = 0; p < kc; ++p) d[p * NR + jj] = 0.0f;
    }
  }
}

// Pack rows [p0, p0+kc) x cols [j0, j0+nc) of op(B). rowWise: for a B not in cache.
static void packB(const GemmCall& g, long p0, long kc, long j0, long nc, float* dst, bool rowWise) {
  const long nFull = (nc / NR) * NR;
  if (rowWise && !g.tb && nFull > NR) {
    // op(B)[p][j] = b[p*ldb + j]: walk p outside and read each row once, left to right, into
    // every full panel (panel by panel, each row's lines came from memory once per panel: the
    // B of split-K's parts, a weight gradient's, is an activation last touched in the forward
    // pass; a B in cache, a square GEMM's, packs ~1.5% faster panel by panel)
    for (long p = 0; p < kc; ++p) {
      const float* s = g.b + (p0 + p) * g.ldb + j0;
      for (long jr = 0; jr < nFull; jr += NR) {
        float* dp = dst + jr * kc + p * NR;
        for (int jj = 0; jj < NR; ++jj) dp[jj] = s[jr + jj];
      }
    }
    if (nFull < nc) packBPanels(g, p0, kc, j0 + nFull, nc - nFull, dst + nFull * kc);
    return;
  }
  packBPanels(g, p0, kc, j0, nc, dst);
}

// C = beta C (+ bias) (+ addend): what is left of the GEMM when K is 0 or alpha is 0.
static void scaleC(const GemmCall& g) {
  for (long i = 0; i < g.m; ++i) {
    float* c = g.c + i * g.ldc;
    if (g.beta == 0.0f) for (long j = 0; j < g.n; ++j) c[j] = 0.0f;
    else if (g.beta != 1.0f) for (long j = 0; j < g.n; ++j) c[j] *= g.beta;
    if (g.bias) for (long j = 0; j < g.n; ++j) c[j] += g.bias[j];
    if (g.addend) for (long j = 0; j < g.n; ++j) c[j] += g.addend[i * g.ldc + j];
  }
}

// A is read in place (no packing) when it is row-major, alpha is 1 and N is narrow: packing
// (a transpose) costs about as much as the arithmetic for N <= 64, and the panel is re-read
// only N / NR times. Measured on Zen 5: faster up to N = 256, slower at N = 1024. Except when
// A's rows are a multiple of 4 KiB apart (lda % 1024 == 0): then the MR rows a micro-kernel
// reads together fall in one L1 set, more rows than the cache has ways, and every pass over
// the panel misses. m2048 n256 k1024 (a Transformer's second FF layer, d 256, FF 1024) ran at
// 125-150 GFLOP/s read in place and 160-175 packed on 2 threads; k 768 or 2048 and N <= 64
// stay faster in place.
constexpr long kDirectMaxN = 8 * NR;

static inline bool directA(const GemmCall& g) {
  return !g.ta && g.alpha == 1.0f && g.n <= kDirectMaxN && (g.lda % 1024 != 0 || g.n <= 2 * NR);
}

static __attribute__((noinline)) void ukrPacked(long kc, const float* A, const float* B, float* C, long ldc, float beta,
                                                int mr, int nr, const float* bias, const float* addend) {
#ifdef TSF_UKR_ROWS
  if (mr <= 4 && MR > 4) { ukr<4>(kc, A, 1, MR, B, C, ldc, beta, mr, nr, bias, addend); return; }
  if (mr <= 8 && MR > 8) { ukr<8>(kc, A, 1, MR, B, C, ldc, beta, mr, nr, bias, addend); return; }
#endif
  ukr(kc, A, 1, MR, B, C, ldc, beta, mr, nr, bias, addend);
}
// nextA: the next tile's A (rows MR further), for an ISA whose micro-kernel prefetches it
static __attribute__((noinline)) void ukrDirect(long kc, const float* A, long lda, const float* B, float* C, long ldc,
                                                float beta, int nr, const float* bias, const float* addend,
                                                const float* nextA) {
#ifdef TSF_UKR_NEXT_A
  ukr(kc, A, lda, 1, B, C, ldc, beta, MR, nr, bias, addend, nextA);
#else
  (void)nextA;
  ukr(kc, A, lda, 1, B, C, ldc, beta, MR, nr, bias, addend);
#endif
}

// Macro-kernel: rows [ic, ic+mc) x the packed B block (kc x cols [j0, j1) of the block whose
// micro-panels start at bblk, column jb of the block at bblk + jb * kc) for one k-block pc.
// ap: MC x KC scratch for packed A. cOff: column of C matching column 0 of the block.
static void macroKernel(const GemmCall& g, long ic, long mc, long pc, long kc, const float* bblk, long j0, long j1,
                        long cOff, float beta, float* ap) {
  const bool direct = directA(g);
  long mFull = mc;
  if (direct) {
    mFull = (mc / MR) * MR;
    if (mFull < mc) packA(g, ic + mFull, mc - mFull, pc, kc, ap);  // the ragged last micro-panel
  } else {
    packA(g, ic, mc, pc, kc, ap);
  }
  // the bias and the addend go in with the first k-block (later blocks accumulate onto them)
  const float* bias = g.bias && pc == 0 ? g.bias + cOff : nullptr;
  const float* addend = g.addend && pc == 0 ? g.addend + ic * g.ldc + cOff : nullptr;
  for (long jr = j0; jr < j1; jr += NR) {
    const int nr = (int)(j1 - jr < NR ? j1 - jr : NR);
    const float* bpan = bblk + jr * kc;
    float* c = g.c + ic * g.ldc + cOff + jr;
    const float* bj = bias ? bias + jr : nullptr;
    const float* aj = addend ? addend + jr : nullptr;
    if (direct) {
      const float* a = g.a + ic * g.lda + pc;
      // the first column panel reads A from memory, the later ones from cache
      for (long ir = 0; ir < mFull; ir += MR)
        ukrDirect(kc, a + ir * g.lda, g.lda, bpan, c + ir * g.ldc, g.ldc, beta, nr, bj, aj ? aj + ir * g.ldc : nullptr,
                  jr == j0 && ir + MR < mFull ? a + (ir + MR) * g.lda : nullptr);
      if (mFull < mc)
        ukrPacked(kc, ap, bpan, c + mFull * g.ldc, g.ldc, beta, (int)(mc - mFull), nr, bj, aj ? aj + mFull * g.ldc : nullptr);
    } else {
      for (long ir = 0; ir < mc; ir += MR) {
        const int mr = (int)(mc - ir < MR ? mc - ir : MR);
        ukrPacked(kc, ap + ir * kc, bpan, c + ir * g.ldc, g.ldc, beta, mr, nr, bj, aj ? aj + ir * g.ldc : nullptr);
      }
    }
  }
}

// The k-block length for a K: KC, unless that leaves a last block under KC / 4; then K in equal
// blocks (a multiple of 8). A short last block pays the C tile's loads and stores and a packing
// pass for a few steps: split-K's parts of 800 and 776 ran as 384 + 384 + 32 and 384 + 384 + 8
// (cold operands, ViT-Ti's weight gradients: 7.55 -> 7.45 ms). Equal blocks are not always
// better: 512 as 256 + 256 ran ~1.5% slower than 384 + 128.
static inline long kBlock(long k) {
  const long tail = k % KC;
  if (tail == 0 || tail >= KC / 4) return KC;
  const long blocks = (k + KC - 1) / KC;
  const long kb = ((k + blocks - 1) / blocks + 7) / 8 * 8;
  return kb < KC ? kb : KC;
}

static void gemmST(const GemmCall& g) {
  if (g.m <= 0 || g.n <= 0) return;
  if (g.k <= 0 || g.alpha == 0.0f) { scaleC(g); return; }
  const long kb = kBlock(g.k);
  const long kcMax = g.k < kb ? g.k : kb;
  const long ncMax = g.n < NC ? ((g.n + NR - 1) / NR) * NR : NC;
  const long mcMax = g.m < MC ? ((g.m + MR - 1) / MR) * MR : MC;
  float* bp = ensureBuf(g_packB, g_packBCap, (size_t)(kcMax * ncMax));
  float* ap = ensureBuf(g_packA, g_packACap, (size_t)(kcMax * mcMax));
  if (!bp || !ap) return;
  for (long jc = 0; jc < g.n; jc += NC) {
    const long nc = g.n - jc < NC ? g.n - jc : NC;
    for (long pc = 0; pc < g.k; pc += kb) {
      const long kc = g.k - pc < kb ? g.k - pc : kb;
      const float beta = pc == 0 ? g.beta : 1.0f;
      packB(g, pc, kc, jc, nc, bp, true);
      for (long ic = 0; ic < g.m; ic += MC) {
        const long mc = g.m - ic < MC ? g.m - ic : MC;
        macroKernel(g, ic, mc, pc, kc, bp, 0, nc, jc, beta, ap);
      }
    }
  }
}

// --- multi-threaded GEMM ---------------------------------------------------------------------

template <class F>
static void runTasks(ParallelRunner run, long n, F& f) {
  run(n, [](void* ctx, long i) { (*static_cast<F*>(ctx))(i); }, &f);
}

static thread_local float* g_packBAll = nullptr;
static thread_local size_t g_packBAllCap = 0;

// B for a slice of columns is packed once (all of K, in parallel) into the calling thread's
// buffer: k-block pc starts at pc * ncPad and holds the slice's micro-panels (kc x NR each).
// Then each task takes a range of M (whole micro-tiles) and, when M alone gives too few tasks,
// a range of N, and runs the macro-kernel over all k-blocks with its own packed A.
static void gemmPar(const GemmCall& g, int nt, ParallelRunner run) {
  if (g.m <= 0 || g.n <= 0) return;
  if (g.k <= 0 || g.alpha == 0.0f) { scaleC(g); return; }
  const long mUnits = (g.m + MR - 1) / MR;
  const long nUnitsAll = (g.n + NR - 1) / NR;
  // Columns per slice: keep the packed B of a slice under 4M floats (16 MB).
  long sliceUnits = nUnitsAll;
  const long maxFloats = 4L << 20;
  if (g.k * sliceUnits * NR > maxFloats) sliceUnits = maxFloats / (g.k * NR) > 0 ? maxFloats / (g.k * NR) : 1;
  const long sliceW = sliceUnits * NR;
  const double flops = 2.0 * g.m * g.n * (double)g.k;
  // Tasks: several per thread (a thread that loses its core to another process does not hold
  // up the call), each at least ~2 MFLOP. Under ~8 GFLOP, 8 per thread: with 4, the threads
  // finished up to a task apart (1024^3: 8 tasks of 10 or 4 row panels), and 8 measured ~7%
  // faster at 1024^3 on 2 threads; above, 4 (each task re-reads the packed B once).
  long target = (flops < 8.0e9 ? 8L : 4L) * nt;
  const long byWork = (long)(flops / 2.0e6);
  if (byWork < target) target = byWork < nt ? nt : byWork;
  // Long K, and M short or no longer than K (weight gradients, X^T G): split K, each part a
  // single-threaded GEMM into its own buffer, then sum. Splitting N instead would re-pack A for
  // every few columns; splitting M into tasks that share one packed B makes every task stream
  // all of B (2 MB and more here) past a few rows of A. TN m256 n1024 k2048 (a d-256
  // Transformer's FF weight gradient) 139-182 -> 186-199 GFLOP/s, m256 n256 k2048 142-189 ->
  // 198-209, m384 n1536 k2048 152-183 -> 190-192 on 2 threads; the output's size bounds the
  // partial sums' memory.
  const bool splitK = g.k >= 4 * KC && (mUnits < target || (g.m <= g.k && (double)g.m * g.n <= (double)(1 << 21)));
  if (splitK) {
    long parts = target;
    if (parts > g.k / (2 * KC)) parts = g.k / (2 * KC);
    // whole rounds of the threads: 3 parts on 2 threads left one thread idle a third of the time
    // (m576 n192 k1576 with the AVX2 kernels' KC = 256)
    if (parts > nt) parts = parts / nt * nt;
    const long kPer = (((g.k + parts - 1) / parts) + 15) / 16 * 16;
    parts = (g.k + kPer - 1) / kPer;
    const long mn = g.m * g.n;
    float* part = ensureBuf(g_packBAll, g_packBAllCap, (size_t)(parts * mn));
    if (part) {
      auto kTask = [&](long t) {
        const long p0 = t * kPer, p1 = p0 + kPer < g.k ? p0 + kPer : g.k;
        GemmCall c = g;
        c.bias = nullptr;  // added once, with the sum below
        c.addend = nullptr;
        c.k = p1 - p0;
        c.a = g.ta ? g.a + p0 * g.lda : g.a + p0;
        c.b = g.tb ? g.b + p0 : g.b + p0 * g.ldb;
        c.beta = 0.0f;
        c.c = part + t * mn;
        c.ldc = g.n;
        gemmST(c);
      };
      runTasks(run, parts, kTask);
      for (long i = 0; i < g.m; ++i) {
        float* cr = g.c + i * g.ldc;
        if (g.beta == 0.0f) for (long j = 0; j < g.n; ++j) cr[j] = 0.0f;
        else if (g.beta != 1.0f) for (long j = 0; j < g.n; ++j) cr[j] *= g.beta;
        for (long t = 0; t < parts; ++t) {
          const float* pr = part + t * mn + i * g.n;
          for (long j = 0; j < g.n; ++j) cr[j] += pr[j];
        }
        if (g.bias) for (long j = 0; j < g.n; ++j) cr[j] += g.bias[j];
        if (g.addend) for (long j = 0; j < g.n; ++j) cr[j] += g.addend[i * g.ldc + j];
      }
      return;
    }
  }
  float* bp = ensureBuf(g_packBAll, g_packBAllCap, (size_t)(g.k * sliceW));
  if (!bp) { gemmST(g); return; }
  for (long jc = 0; jc < g.n; jc += sliceW) {
    const long nc = g.n - jc < sliceW ? g.n - jc : sliceW;
    const long nUnits = (nc + NR - 1) / NR;
    const long ncPad = nUnits * NR;
    // Pack B: tasks over (k-block, group of micro-panels).
    const long kb = kBlock(g.k);
    const long kBlocks = (g.k + kb - 1) / kb;
    const long perGroup = 8;
    const long groups = (nUnits + perGroup - 1) / perGroup;
    auto packTask = [&](long t) {
      const long pb = t / groups, gi = t % groups;
      const long pc = pb * kb, kc = g.k - pc < kb ? g.k - pc : kb;
      const long u0 = gi * perGroup, u1 = u0 + perGroup < nUnits ? u0 + perGroup : nUnits;
      const long c0 = u0 * NR, c1 = u1 * NR < nc ? u1 * NR : nc;
      packB(g, pc, kc, jc + c0, c1 - c0, bp + pc * ncPad + c0 * kc, false);
    };
    if ((double)g.k * nc < 65536.0) {
      for (long t = 0; t < kBlocks * groups; ++t) packTask(t);
    } else {
      runTasks(run, kBlocks * groups, packTask);
    }
    // Compute tasks: split M first (no redundant packing), then N.
    long mChunks = mUnits < target ? mUnits : target;
    long nChunks = 1;
    if (mChunks < target) {
      nChunks = (target + mChunks - 1) / mChunks;
      if (nChunks > nUnits) nChunks = nUnits;
    }
    const long mPer = (mUnits + mChunks - 1) / mChunks;
    mChunks = (mUnits + mPer - 1) / mPer;
    const long nPer = (nUnits + nChunks - 1) / nChunks;
    nChunks = (nUnits + nPer - 1) / nPer;
    // M alone: chunks that shrink toward the end (guided scheduling), each a quarter of a
    // thread's share of what is left, so the threads finish within a small chunk of each other:
    // with 16 equal chunks a thread waited half a chunk at the end of every product on average,
    // 3% of a GEMM on 2 threads. Steps, alternating: seq2seq 399.6 -> 385.8 ms, GPT 897 -> 882,
    // ViT-MNIST 45.9 -> 43.6. Not above 8 GFLOP (4 equal chunks a thread): every chunk streams
    // the whole packed B, 16 MB at 2048^3.
    constexpr int kMaxChunks = 64;
    long bound[kMaxChunks + 1];
    long guided = 0;
    if (nChunks == 1 && mChunks > 1 && flops < 8.0e9) {
      bound[0] = 0;
      long u = 0;
      while (u < mUnits && guided < kMaxChunks) {
        long c = (mUnits - u + 4 * nt - 1) / (4 * nt);
        if (guided == kMaxChunks - 1) c = mUnits - u;
        u += c;
        bound[++guided] = u;
      }
    }
    auto computeTask = [&](long t) {
      const long mi = t / nChunks, ni = t % nChunks;
      long i0 = mi * mPer * MR, i1 = (mi + 1) * mPer * MR < g.m ? (mi + 1) * mPer * MR : g.m;
      if (guided) { i0 = bound[t] * MR; i1 = bound[t + 1] * MR < g.m ? bound[t + 1] * MR : g.m; }
      const long j0 = ni * nPer * NR, j1 = (ni + 1) * nPer * NR < nc ? (ni + 1) * nPer * NR : nc;
      if (i0 >= i1 || j0 >= j1) return;
      const long kcMax = g.k < kb ? g.k : kb;
      float* ap = ensureBuf(g_packA, g_packACap, (size_t)(kcMax * MC));
      if (!ap) return;
      for (long ic = i0; ic < i1; ic += MC) {
        const long mc = i1 - ic < MC ? i1 - ic : MC;
        for (long pc = 0; pc < g.k; pc += kb) {
          const long kc = g.k - pc < kb ? g.k - pc : kb;
          macroKernel(g, ic, mc, pc, kc, bp + pc * ncPad, j0, j1, jc, pc == 0 ? g.beta : 1.0f, ap);
        }
      }
    };
    runTasks(run, guided ? guided : mChunks * nChunks, computeTask);
  }
}
