#include "client/progress.h"

#include <unistd.h>

#include <cstdio>

namespace loupe::client {

Progress::Progress(std::string label, uint64_t total)
    : label_(std::move(label)),
      total_(total),
      enabled_(isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

Progress::~Progress() {
  if (drawn_) std::fputc('\n', stderr);
}

void Progress::Update(uint64_t done) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (done < total_ && now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  Draw(done);
}

void Progress::Draw(uint64_t done) {
  constexpr int kWidth = 30;
  const double fraction =
      total_ == 0 ? 1.0
                  : static_cast<double>(done) / static_cast<double>(total_);
  const int filled = static_cast<int>(fraction * kWidth);
  const double seconds = std::chrono::duration<double>(last_ - start_).count();
  const double mb = static_cast<double>(done) / 1e6;
  std::fprintf(stderr, "\r%s [%-*s] %5.1f%% %8.1f MB %7.1f MB/s",
               label_.c_str(), kWidth, std::string(filled, '#').c_str(),
               fraction * 100.0, mb, seconds > 0 ? mb / seconds : 0.0);
  std::fflush(stderr);
  drawn_ = true;
}

}  // namespace loupe::client
