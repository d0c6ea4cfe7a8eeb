// Node-API entry points of tsformer's native backend. Every entry point validates its
// arguments (types, integer sizes, array lengths) and throws a TypeError / RangeError naming
// the argument instead of touching memory out of bounds.
#define NAPI_VERSION 8
#include <node_api.h>

#include <algorithm>
#include <cstdlib>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#if defined(__GLIBC__)
#include <malloc.h>
#endif
#if defined(__linux__)
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>
#endif

#include "dispatch.h"
#include "threadpool.h"

namespace tsf {
namespace {

struct Args {
  napi_env env;
  const char* fn;
  napi_value v[32];
  size_t n = 32;
  bool bad = false;

  Args(napi_env e, napi_callback_info info, const char* name, size_t expected) : env(e), fn(name) {
    napi_get_cb_info(env, info, &n, v, nullptr, nullptr);
    if (n < expected) {
      fail("TypeError", std::string("expected ") + std::to_string(expected) + " arguments, got " + std::to_string(n));
    }
  }

  void fail(const char* kind, const std::string& msg) {
    if (bad) return;
    bad = true;
    std::string m = std::string("tsformer native ") + fn + ": " + msg;
    if (std::strcmp(kind, "RangeError") == 0) napi_throw_range_error(env, nullptr, m.c_str());
    else napi_throw_type_error(env, nullptr, m.c_str());
  }

  bool isNull(size_t i) {
    if (i >= n) return true;
    napi_valuetype t;
    napi_typeof(env, v[i], &t);
    return t == napi_null || t == napi_undefined;
  }

  template <typename T>
  T* typed(size_t i, const char* name, napi_typedarray_type want, const char* wantName, size_t* len, bool nullable) {
    *len = 0;
    if (bad) return nullptr;
    if (nullable && isNull(i)) return nullptr;
    bool is = false;
    if (i < n) napi_is_typedarray(env, v[i], &is);
    if (!is) { fail("TypeError", std::string(name) + " must be a " + wantName + (nullable ? " or null" : "")); return nullptr; }
    napi_typedarray_type type;
    size_t length;
    void* data;
    napi_value ab;
    size_t off;
    napi_get_typedarray_info(env, v[i], &type, &length, &data, &ab, &off);
    if (type != want) { fail("TypeError", std::string(name) + " must be a " + wantName); return nullptr; }
    *len = length;
    return static_cast<T*>(data);
  }
  float* f32(size_t i, const char* name, size_t* len, bool nullable = false) {
    return typed<float>(i, name, napi_float32_array, "Float32Array", len, nullable);
  }
  int32_t* i32(size_t i, const char* name, size_t* len) {
    return typed<int32_t>(i, name, napi_int32_array, "Int32Array", len, false);
  }
  double num(size_t i, const char* name) {
    if (bad) return 0;
    double d = 0;
    if (i >= n || napi_get_value_double(env, v[i], &d) != napi_ok) { fail("TypeError", std::string(name) + " must be a number"); return 0; }
    return d;
  }
  long integer(size_t i, const char* name, long minValue = 0) {
    double d = num(i, name);
    if (bad) return 0;
    if (!std::isfinite(d) || d != std::floor(d) || d < (double)minValue || d > 9.0e15) {
      fail("RangeError", std::string(name) + " must be an integer >= " + std::to_string(minValue) + ", got " + std::to_string(d));
      return 0;
    }
    return (long)d;
  }
  bool boolean(size_t i, const char* name) {
    if (bad) return false;
    bool b = false;
    if (i >= n || napi_get_value_bool(env, v[i], &b) != napi_ok) { fail("TypeError", std::string(name) + " must be a boolean"); return false; }
    return b;
  }
  std::string str(size_t i, const char* name) {
    if (bad) return "";
    char buf[64];
    size_t len = 0;
    if (i >= n || napi_get_value_string_utf8(env, v[i], buf, sizeof buf, &len) != napi_ok) { fail("TypeError", std::string(name) + " must be a string"); return ""; }
    return std::string(buf, len);
  }
  // Checks len >= need (all counts in elements).
  void need(const char* name, size_t len, double need) {
    if (bad) return;
    if ((double)len < need) {
      fail("RangeError", std::string(name) + " has " + std::to_string(len) + " elements, needs at least " + std::to_string((long long)need));
    }
  }
};

napi_value undef(napi_env env) { napi_value u; napi_get_undefined(env, &u); return u; }
napi_value mkstr(napi_env env, const char* s) { napi_value r; napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &r); return r; }
napi_value mknum(napi_env env, double d) { napi_value r; napi_create_double(env, d, &r); return r; }

// --- control ---------------------------------------------------------------------------------

napi_value Isa(napi_env env, napi_callback_info) { return mkstr(env, table()->name); }

napi_value SetIsa(napi_env env, napi_callback_info info) {
  Args a(env, info, "setIsa", 1);
  std::string name = a.str(0, "isa");
  if (a.bad) return nullptr;
  if (!setIsa(name.c_str())) { a.fail("RangeError", "ISA \"" + name + "\" is not supported by this CPU or build"); return nullptr; }
  return mkstr(env, table()->name);
}

napi_value SupportedIsas(napi_env env, napi_callback_info) {
  napi_value arr;
  napi_create_array(env, &arr);
  uint32_t i = 0;
  for (const char* n : {"avx512", "avx2", "generic"})
    if (isaSupported(n)) napi_set_element(env, arr, i++, mkstr(env, n));
  return arr;
}

napi_value NumThreads(napi_env env, napi_callback_info) { return mknum(env, numThreads()); }

napi_value SetNumThreads(napi_env env, napi_callback_info info) {
  Args a(env, info, "setNumThreads", 1);
  long n = a.integer(0, "n", 1);
  if (a.bad) return nullptr;
  if (n > 1024) { a.fail("RangeError", "n must be <= 1024"); return nullptr; }
  setNumThreads((int)n);
  return undef(env);
}

// peakGflops(seconds): the arithmetic peak of the current ISA on numThreads() threads, from
// independent multiply-add chains (no memory traffic): the best of several ~50 ms runs within
// about `seconds`. The benchmark divides its FLOP counts by it (a roofline).
napi_value PeakGflops(napi_env env, napi_callback_info info) {
  Args a(env, info, "peakGflops", 1);
  const double seconds = a.num(0, "seconds");
  if (a.bad) return nullptr;
  if (!(seconds > 0 && seconds <= 60)) { a.fail("RangeError", "seconds must be in (0, 60]"); return nullptr; }
  const KernelTable* t = table();
  const int nt = numThreads();
  using clock = std::chrono::steady_clock;
  long iters = 1L << 16;
  std::vector<float> sink(nt);  // each task's result, so the loops are not dead code
  double best = 0.0;
  const auto start = clock::now();
  for (;;) {
    const auto t0 = clock::now();
    parallelFor(nt, [&](long i) { sink[i] = t->fmaLoop(iters); });
    const double s = std::chrono::duration<double>(clock::now() - t0).count();
    const double total = std::chrono::duration<double>(clock::now() - start).count();
    if (s < 0.05) { iters *= 2; if (total < seconds) continue; }
    best = std::max(best, 2.0 * t->fmaLanes * (double)iters * nt / s / 1e9);
    if (total >= seconds) break;
  }
  float check = 0.0f;
  for (float x : sink) check += x;
  if (!std::isfinite(check)) best = 0.0;  // never: the chains converge to 0.1
  return mknum(env, best);
}

// --- gemm ------------------------------------------------------------------------------------
// gemm(transA, transB, m, n, k, alpha, a, aOffset, lda, strideA, b, bOffset, ldb, strideB,
//      beta, c, cOffset, ldc, strideC, batch[, bias[, addend]])
napi_value Gemm(napi_env env, napi_callback_info info) {
  Args a(env, info, "gemm", 20);
  const bool ta = a.boolean(0, "transA"), tb = a.boolean(1, "transB");
  const long m = a.integer(2, "m"), n = a.integer(3, "n"), k = a.integer(4, "k");
  const double alpha = a.num(5, "alpha");
  size_t la, lb, lc;
  float* A = a.f32(6, "a", &la);
  const long aOff = a.integer(7, "aOffset"), lda = a.integer(8, "lda"), sA = a.integer(9, "strideA");
  float* B = a.f32(10, "b", &lb);
  const long bOff = a.integer(11, "bOffset"), ldb = a.integer(12, "ldb"), sB = a.integer(13, "strideB");
  const double beta = a.num(14, "beta");
  float* C = a.f32(15, "c", &lc);
  const long cOff = a.integer(16, "cOffset"), ldc = a.integer(17, "ldc"), sC = a.integer(18, "strideC");
  const long batch = a.integer(19, "batch");
  size_t lbias = 0;
  const float* bias = a.n > 20 ? a.f32(20, "bias", &lbias, true) : nullptr;  // optional [n], added to every row
  if (bias) a.need("bias", lbias, (double)n);
  size_t laddend = 0;
  const float* addend = a.n > 21 ? a.f32(21, "addend", &laddend, true) : nullptr;  // optional, laid out like c
  if (a.bad) return nullptr;
  if (addend && addend == C) { a.fail("RangeError", "addend must not be c itself (use beta = 1)"); return nullptr; }
  if (m == 0 || n == 0 || batch == 0) return undef(env);
  // Stored shapes: A is (ta ? k x m : m x k), B is (tb ? n x k : k x n), C is m x n.
  const long aRows = ta ? k : m, aCols = ta ? m : k;
  const long bRows = tb ? n : k, bCols = tb ? k : n;
  if (k > 0) {
    if (lda < aCols) { a.fail("RangeError", "lda=" + std::to_string(lda) + " < " + std::to_string(aCols) + " (columns of stored A)"); return nullptr; }
    if (ldb < bCols) { a.fail("RangeError", "ldb=" + std::to_string(ldb) + " < " + std::to_string(bCols) + " (columns of stored B)"); return nullptr; }
    a.need("a", la, (double)aOff + (double)(batch - 1) * sA + (double)(aRows - 1) * lda + aCols);
    a.need("b", lb, (double)bOff + (double)(batch - 1) * sB + (double)(bRows - 1) * ldb + bCols);
  }
  if (ldc < n) { a.fail("RangeError", "ldc=" + std::to_string(ldc) + " < n=" + std::to_string(n)); return nullptr; }
  a.need("c", lc, (double)cOff + (double)(batch - 1) * sC + (double)(m - 1) * ldc + n);
  if (addend) a.need("addend", laddend, (double)cOff + (double)(batch - 1) * sC + (double)(m - 1) * ldc + n);
  if (a.bad) return nullptr;
  GemmBatch gb;
  gb.g = GemmCall{ta, tb, m, n, k, (float)alpha, A + aOff, lda, B + bOff, ldb, (float)beta, C + cOff, ldc, bias, addend ? addend + cOff : nullptr};
  gb.strideA = sA; gb.strideB = sB; gb.strideC = sC; gb.batch = batch;
  gemmBatched(gb);
  return undef(env);
}

// followParent(pid): have the kernel kill this process when its parent dies (Linux). The
// `tsformer` command restarts node with --single-threaded-gc and waits for that child; a SIGKILL
// to the command cannot be passed on, and the child would go on alone (a training run writing
// checkpoints beside the next one). Returns whether it is armed; if the parent is already gone
// (its pid no longer our parent's), the process is killed at once.
napi_value FollowParent(napi_env env, napi_callback_info info) {
  Args a(env, info, "followParent", 1);
  const long parent = a.integer(0, "pid");
  if (a.bad) return nullptr;
  bool armed = false;
#if defined(__linux__)
  armed = prctl(PR_SET_PDEATHSIG, SIGKILL) == 0;
  if (armed && parent > 0 && (long)getppid() != parent) raise(SIGKILL);
#else
  (void)parent;
#endif
  napi_value r;
  napi_get_boolean(env, armed, &r);
  return r;
}

#include "addon_kernels.inc"

// Keep freed tensor memory in the process. A training step allocates and frees its activations
// and gradients (hundreds of MB) every step; by default glibc serves blocks over ~128 KB-32 MB
// with fresh mmap()s and returns them on free, so every step pays a page fault and a kernel
// zero-fill for every page it touches (on this VM, 5-10% of a ViT-MNIST or GPT step). With
// large blocks kept in the heap and the heap trimmed only past 512 MB free, the step reuses its
// own pages, as PyTorch's caching allocator does. TSFORMER_MALLOC_CACHE=0 leaves malloc alone.
void tuneMalloc() {
#if defined(__GLIBC__)
  const char* env = std::getenv("TSFORMER_MALLOC_CACHE");
  if (env && std::strcmp(env, "0") == 0) return;
  // blocks up to 256 MB (a GPT's logits and their gradient are 41 MB) come from the heap; older
  // glibc refuses more than 32 MB
  if (!mallopt(M_MMAP_THRESHOLD, 256 << 20)) mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
#endif
}

napi_value Init(napi_env env, napi_value exports) {
  tuneMalloc();
  struct Fn { const char* name; napi_callback cb; };
  const Fn fns[] = {
      {"isa", Isa}, {"setIsa", SetIsa}, {"supportedIsas", SupportedIsas},
      {"numThreads", NumThreads}, {"setNumThreads", SetNumThreads}, {"peakGflops", PeakGflops},
      {"followParent", FollowParent},
      {"gemm", Gemm},
      TSF_KERNEL_EXPORTS
  };
  for (const Fn& f : fns) {
    napi_value v;
    napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.cb, nullptr, &v);
    napi_set_named_property(env, exports, f.name, v);
  }
  return exports;
}

}  // namespace
}  // namespace tsf

NAPI_MODULE(NODE_GYP_MODULE_NAME, tsf::Init)
