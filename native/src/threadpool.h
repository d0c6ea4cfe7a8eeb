#pragma once
#include <functional>

namespace tsf {
// Runs fn(i) for i in [0, n) on the addon's persistent pool; the calling thread participates.
// Synchronous. Falls back to the calling thread alone when the pool is busy (another JS
// thread is using it) or when n == 1.
void parallelFor(long n, const std::function<void(long)>& fn);
int numThreads();
void setNumThreads(int n);
}  // namespace tsf
