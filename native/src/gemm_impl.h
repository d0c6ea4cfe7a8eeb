// Blocked, packed single-threaded SGEMM (GotoBLAS/BLIS loop structure).
// Included inside an ISA-specific anonymous namespace that defines:
//   constexpr int MR, NR; constexpr long KC, MC, NC;
//   void ukr(long kc, const float* A, const float* B, float* C, long ldc, float beta, int mr, int nr);
// A micro-panels are MR x kc (column-major within the panel, alpha applied), B micro-panels are
// kc x NR (row-major within the panel). Both are zero-padded to full MR / NR.

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

// Pack rows [i0, i0+mc) x cols [p0, p0+kc) of op(A), times alpha.
static void packA(const GemmCall& g, long i0, long mc, long p0, long kc, float* dst) {
  const float alpha = g.alpha;
  for (long ir = 0; ir < mc; ir += MR) {
    const int mr = (int)(mc - ir < MR ? mc - ir : MR);
    float* d = dst + ir * kc;
    if (!g.ta) {
      // op(A)[i][p] = a[i*lda + p]
      for (int ii = 0; ii < mr; ++ii) {
        const float* s = g.a + (i0 + ir + ii) * g.lda + p0;
        for (long p = 0; p < kc; ++p) d[p * MR + ii] = alpha * s[p];
      }
      for (int ii = mr; ii < MR; ++ii)
        for (long p = 0; p < kc; ++p) d[p * MR + ii] = 0.0f;
    } else {
      // op(A)[i][p] = a[p*lda + i]
      for (long p = 0; p < kc; ++p) {
        const float* s = g.a + (p0 + p) * g.lda + i0 + ir;
        float* dp = d + p * MR;
        int ii = 0;
        for (; ii < mr; ++ii) dp[ii] = alpha * s[ii];
        for (; ii < MR; ++ii) dp[ii] = 0.0f;
      }
    }
  }
}

// Pack rows [p0, p0+kc) x cols [j0, j0+nc) of op(B).
static void packB(const GemmCall& g, long p0, long kc, long j0, long nc, float* dst) {
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
      for (int jj = 0; jj < nr; ++jj) {
        const float* s = g.b + (j0 + jr + jj) * g.ldb + p0;
        for (long p = 0; p < kc; ++p) d[p * NR + jj] = s[p];
      }
      for (int jj = nr; jj < NR; ++jj)
        for (long p = 0; p < kc; ++p) d[p * NR + jj] = 0.0f;
    }
  }
}

static void scaleC(const GemmCall& g) {
  for (long i = 0; i < g.m; ++i) {
    float* c = g.c + i * g.ldc;
    if (g.beta == 0.0f) for (long j = 0; j < g.n; ++j) c[j] = 0.0f;
    else if (g.beta != 1.0f) for (long j = 0; j < g.n; ++j) c[j] *= g.beta;
  }
}

static void gemmST(const GemmCall& g) {
  if (g.m <= 0 || g.n <= 0) return;
  if (g.k <= 0 || g.alpha == 0.0f) { scaleC(g); return; }
  const long kcMax = g.k < KC ? g.k : KC;
  const long ncMax = g.n < NC ? ((g.n + NR - 1) / NR) * NR : NC;
  const long mcMax = g.m < MC ? ((g.m + MR - 1) / MR) * MR : MC;
  float* bp = ensureBuf(g_packB, g_packBCap, (size_t)(kcMax * ncMax));
  float* ap = ensureBuf(g_packA, g_packACap, (size_t)(kcMax * mcMax));
  if (!bp || !ap) return;
  for (long jc = 0; jc < g.n; jc += NC) {
    const long nc = g.n - jc < NC ? g.n - jc : NC;
    for (long pc = 0; pc < g.k; pc += KC) {
      const long kc = g.k - pc < KC ? g.k - pc : KC;
      const float beta = pc == 0 ? g.beta : 1.0f;
      packB(g, pc, kc, jc, nc, bp);
      for (long ic = 0; ic < g.m; ic += MC) {
        const long mc = g.m - ic < MC ? g.m - ic : MC;
        packA(g, ic, mc, pc, kc, ap);
        for (long jr = 0; jr < nc; jr += NR) {
          const int nr = (int)(nc - jr < NR ? nc - jr : NR);
          const float* bpan = bp + jr * kc;
          for (long ir = 0; ir < mc; ir += MR) {
            const int mr = (int)(mc - ir < MR ? mc - ir : MR);
            ukr(kc, ap + ir * kc, bpan, g.c + (ic + ir) * g.ldc + jc + jr, g.ldc, beta, mr, nr);
          }
        }
      }
    }
  }
}
