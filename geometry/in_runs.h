#pragma once

// Splitting a loop over a few threads, for the geometry passes.

#include <algorithm>
#include <cstddef>
#include <thread>
#include <vector>

namespace loupe::geometry {

// Below this many triangles a pass over a mesh runs on one thread: a
// thread's start costs more than it saves.
inline constexpr size_t kThreadsFromTriangles = 65536;

// Runs f(run, begin, end) on `threads` threads (at least one) over
// consecutive runs of [0, n), run 0 on this thread; returns when all have.
template <typename F>
void InRuns(size_t n, int threads, F&& f) {
  threads = std::max(1, threads);
  std::vector<std::thread> workers;
  for (int w = 1; w < threads; ++w) {
    workers.emplace_back(
        [&, w] { f(w, n * w / threads, n * (w + 1) / threads); });
  }
  f(0, 0, n / threads);
  for (auto& t : workers) t.join();
}

// Runs f(worker) on `threads` threads (at least one), worker 0 on this
// thread; returns when all have (e.g. workers taking chunks in turn).
template <typename F>
void OnThreads(int threads, F&& f) {
  InRuns(static_cast<size_t>(std::max(1, threads)), threads,
         [&](int worker, size_t, size_t) { f(worker); });
}

}  // namespace loupe::geometry
