// Persistent worker pool: workers spin briefly, then sleep on a condition variable.
#include "threadpool.h"

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TSF_PAUSE() _mm_pause()
#elif defined(__aarch64__)
#define TSF_PAUSE() __asm__ __volatile__("yield")
#else
#define TSF_PAUSE() ((void)0)
#endif

namespace tsf {
namespace {

class Pool {
 public:
  explicit Pool(int n) { start(n); }

  int size() const { return nthreads_; }

  void resize(int n) {
    std::lock_guard<std::mutex> busy(dispatch_);
    stop();
    start(n);
  }

  void run(long n, const std::function<void(long)>& fn) {
    if (n <= 0) return;
    std::unique_lock<std::mutex> busy(dispatch_, std::try_to_lock);
    if (n == 1 || nthreads_ <= 1 || !busy.owns_lock()) {
      for (long i = 0; i < n; ++i) fn(i);
      return;
    }
    // Seqlock-style publish: odd generation = being written; wait for stragglers to leave.
    gen_.fetch_add(1, std::memory_order_seq_cst);
    while (active_.load(std::memory_order_seq_cst) != 0) TSF_PAUSE();
    fn_ = &fn;
    ntasks_ = n;
    next_.store(0, std::memory_order_relaxed);
    done_.store(0, std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lk(mu_);
      gen_.fetch_add(1, std::memory_order_seq_cst);
    }
    cv_.notify_all();
    work();
    // Wait for the workers' last tasks; on a busy machine a worker may have lost its core, so
    // after a short spin give ours away instead of burning it.
    for (long spin = 0; done_.load(std::memory_order_acquire) < n; ++spin) {
      if (spin < 4000) TSF_PAUSE();
      else std::this_thread::yield();
    }
  }

 private:
  void work() {
    long done = 0;
    for (;;) {
      long i = next_.fetch_add(1, std::memory_order_relaxed);
      if (i >= ntasks_) break;
      (*fn_)(i);
      ++done;
    }
    if (done) done_.fetch_add(done, std::memory_order_release);
  }

  void workerLoop() {
    unsigned long seen = gen_.load();
    if (seen & 1) ++seen;
    for (;;) {
      unsigned long g = 0;
      bool got = false;
      for (int spin = 0; spin < 20000; ++spin) {
        g = gen_.load(std::memory_order_acquire);
        if (g != seen && !(g & 1)) { got = true; break; }
        TSF_PAUSE();
      }
      if (!got) {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] {
          g = gen_.load();
          return stop_ || (g != seen && !(g & 1));
        });
      }
      if (stop_) return;
      seen = g;
      active_.fetch_add(1, std::memory_order_seq_cst);
      if (gen_.load(std::memory_order_seq_cst) == g) work();
      active_.fetch_sub(1, std::memory_order_seq_cst);
    }
  }

  void start(int n) {
    if (n < 1) n = 1;
    nthreads_ = n;
    stop_ = false;
    for (int i = 1; i < n; ++i) workers_.emplace_back([this] { workerLoop(); });
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  std::mutex dispatch_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::thread> workers_;
  std::atomic<unsigned long> gen_{0};
  std::atomic<int> active_{0};
  std::atomic<long> next_{0};
  std::atomic<long> done_{0};
  const std::function<void(long)>* fn_ = nullptr;
  long ntasks_ = 0;
  int nthreads_ = 1;
  std::atomic<bool> stop_{false};
};

int defaultThreads() {
  const char* env = std::getenv("TSFORMER_NUM_THREADS");
  if (env && *env) {
    int n = std::atoi(env);
    if (n >= 1 && n <= 1024) return n;
  }
  unsigned hc = std::thread::hardware_concurrency();
  return hc ? (int)hc : 1;
}

Pool& pool() {
  // Intentionally leaked: workers sleep until the process exits.
  static Pool* p = new Pool(defaultThreads());
  return *p;
}

}  // namespace

void parallelFor(long n, const std::function<void(long)>& fn) { pool().run(n, fn); }
int numThreads() { return pool().size(); }
void setNumThreads(int n) { pool().resize(n < 1 ? 1 : n); }

}  // namespace tsf
