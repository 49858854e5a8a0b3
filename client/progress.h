#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace loupe::client {

// A one-line progress bar on stderr, drawn only when stderr is a terminal
// (and so silent in scripts and tests). Redraws at most 10 times a second.
// Not thread-safe.
class Progress {
 public:
  Progress(std::string label, uint64_t total);
  ~Progress();  // Ends the line if anything was drawn.
  void Update(uint64_t done);

 private:
  void Draw(uint64_t done);

  std::string label_;
  uint64_t total_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace loupe::client
