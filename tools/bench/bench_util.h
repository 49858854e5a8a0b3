#pragma once

// Small pieces the benchmarks share: timing, concurrent load, process
// memory, and the "target ...: met" lines. Header-only; benchmarks only.

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

namespace loupe::bench {

using Clock = std::chrono::steady_clock;

inline double Since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Runs `op(thread)` from `threads` threads for `seconds`; returns the
// successful calls per second. `op` returns false to stop its thread (an
// error the caller reports).
template <typename Op>
double RunConcurrently(int threads, double seconds, Op op) {
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> done{0};
  const auto start = Clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      while (!stop.load(std::memory_order_relaxed)) {
        if (!op(t)) return;
        done.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& w : workers) w.join();
  return static_cast<double>(done.load()) / Since(start);
}

// kB from a line of /proc/PID/status, e.g. "VmRSS:"; -1 if absent.
inline long StatusKb(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0) return std::stol(line.substr(field.size()));
  }
  return -1;
}

inline void Report(const char* what, bool met) {
  std::printf("  target %s: %s\n", what, met ? "met" : "NOT MET");
}

// Prints "<program>: <what>" and exits 1.
[[noreturn]] inline void DieAs(const char* program, const std::string& what) {
  std::cerr << program << ": " << what << "\n";
  std::exit(1);
}

}  // namespace loupe::bench
