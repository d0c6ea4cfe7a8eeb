// Shared declarations of the tsformer native addon.
// The ISA-specific translation units (kernels_avx512.cc, kernels_avx2.cc, kernels_generic.cc)
// include only this header (plain C types) before their target pragmas, so no C++ standard
// library template gets instantiated with a wider instruction set than the baseline.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace tsf {

// One single-threaded GEMM: C = alpha * op(A) @ op(B) + beta * C (row-major).
struct GemmCall {
  bool ta, tb;
  long m, n, k;
  float alpha;
  const float* a; long lda;
  const float* b; long ldb;
  float beta;
  float* c; long ldc;
  // Optional row vector [n] added to every row of C (a Linear layer's bias): C = alpha A B +
  // beta C + bias. Fused into the first k-block's tile stores, so C is written once.
  const float* bias = nullptr;
  // Optional matrix laid out like C (row stride ldc) added to the result: a residual connection,
  // fused the same way (the first k-block's tiles start from beta C + bias + addend).
  const float* addend = nullptr;
};

// One attention problem for a single (batch*head) slice and a range of query rows.
struct AttnCall {
  const float* q; const float* k; const float* v;  // q: [tq, d], k: [tk, d], v: [tk, dv]
  long tq, tk, d, dv;
  long ldq, ldk, ldv, ldo;  // row strides of q, k, v and out (d, d, dv, dv when heads are contiguous)
  float scale;
  bool causal;
  long causalOffset;        // key j is visible to query i iff j <= i + causalOffset
  const float* mask;        // [tq, tk] or null
  float* out;               // [tq, dv]
  float* lse;               // [tq]
  long q0, q1;              // query row range handled by this call
};

struct AttnBwdCall {
  AttnCall f;
  const float* dout;        // [tq, dv]
  const float* delta;       // [tq], rowsum(dout * out)
  float* dq;                // [tq, d]
  float* dk;                // [tk, d]
  float* dvv;               // [tk, dv]
  long k0, k1;              // key range (dk/dv pass); q0..q1 used by dq pass
  int pass;                 // 0: dq for rows q0..q1; 1: dk, dv for keys k0..k1;
                            // 2: the whole head (short sequences: smallAttention() is true)
};

// Runs fn(ctx, i) for i in [0, n), possibly on several threads; returns when all are done.
// Tasks must not wait for each other (the runner may run them one after another).
typedef void (*TaskFn)(void* ctx, long i);
typedef void (*ParallelRunner)(long n, TaskFn fn, void* ctx);

struct KernelTable {
  const char* name;
  int gemmMR, gemmNR;
  void (*gemm)(const GemmCall&);
  // One GEMM on up to nthreads threads through run: B is packed once and shared, the tasks
  // split M (and N when M is short) and pack only their own A rows.
  void (*gemmPar)(const GemmCall&, int nthreads, ParallelRunner run);
  // row-wise kernels over [rows, cols]
  void (*softmax)(const float* x, float* y, long rows, long cols);
  void (*softmaxBackward)(const float* y, const float* dy, float* dx, long rows, long cols);
  void (*logSoftmax)(const float* x, float* y, long rows, long cols);
  void (*logSoftmaxBackward)(const float* y, const float* dy, float* dx, long rows, long cols);
  void (*layerNorm)(const float* x, const float* g, const float* b, long rows, long cols, float eps,
                    float* y, float* mean, float* rstd);
  // dgamma/dbeta partials: accumulated (+=) into dg/db for the given rows; dx = the input's
  // gradient + dxAdd when dxAdd is not null (a gradient already summed for x elsewhere)
  void (*layerNormBackward)(const float* x, const float* g, const float* mean, const float* rstd,
                            const float* dy, long rows, long cols, float* dx, float* dg, float* db,
                            const float* dxAdd);
  void (*crossEntropy)(const float* logits, const int32_t* targets, long rows, long cols,
                       long ignoreIndex, float smoothing, float* loss, float* dlogits, float gradScale);
  // AdamW step; the scalar coefficients are computed in double by the caller so that
  // (1 - beta2) and the bias corrections are exact to float32 rounding of the final value.
  void (*adamw)(float* p, const float* g, float* m, float* v, long n, float b1, float omb1, float b2,
                float omb2, float eps, float decay, float stepSize, float invBc2);
  // unary op codes: see kernels_impl.h
  void (*unary)(int op, const float* x, float* y, long n);
  void (*unaryBackward)(int op, const float* x, const float* y, const float* dy, float* dx, long n);
  // binary: out[i] = a[i] op b[i % bn]  (bn == n for same shape)
  void (*binaryBcast)(int op, const float* a, const float* b, float* out, long n, long bn);
  // binary with b broadcast along trailing dims: out[i*inner + j] = a[..] op b[i % bn]
  void (*binaryRowBcast)(int op, const float* a, const float* b, float* out, long outer, long inner, long bn, long row0);
  void (*attention)(const AttnCall&);
  void (*attentionBackward)(const AttnBwdCall&);
  // colSum: out[j] += sum of x[r * ld + j] over rows r < rows, for j < cols (bias gradients)
  void (*colSum)(const float* x, long rows, long cols, long ld, float* out);
  // fmaLoop(iters) runs iters x fmaLanes multiply-adds (2 FLOPs each) on one thread.
  int fmaLanes;
  float (*fmaLoop)(long iters);
};

// Whether the attention kernels take their short-sequence path (whole head per call in the
// backward pass, pass 2) instead of the flash kernel's blocks. Head dims 16, 32 and 64 with up
// to 256 keys take the register-blocked path (kernels_impl.h, attentionTiled: ViT-Ti's T = 197
// backward 1.5-1.7x faster than the flash kernel); other head dims up to 32 with up to 128 keys
// the older per-row path.
inline bool smallAttention(long tk, long d, long dv) {
  if (d == dv && (d == 16 || d == 32 || d == 64) && tk <= 256) return true;
  return tk <= 128 && d <= 32 && dv <= 32;
}

const KernelTable* tableGeneric();
const KernelTable* tableAvx2();    // null when not compiled for x86-64
const KernelTable* tableAvx512();  // null when not compiled for x86-64

enum UnaryCode { U_GELU = 0, U_GELU_TANH, U_RELU, U_SILU, U_EXP, U_TANH, U_SIGMOID, U_COUNT };
enum BinaryCode { B_ADD = 0, B_SUB, B_MUL, B_DIV, B_MAX, B_MIN, B_COUNT };

}  // namespace tsf
