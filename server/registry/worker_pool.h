#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace loupe::server {

// A fixed set of threads running submitted tasks in FIFO order. gRPC
// callback handlers must not block, so work that waits on the disk for long
// (an upload's commit syncs and ingests its file) runs here.
//
// Thread-safe. The destructor runs the tasks already queued, then joins.
class WorkerPool {
 public:
  // `nice`: added to the threads' nice value (Linux: per thread, inherited
  // by threads they start), so that background work (mesh measurement)
  // yields the CPU to the threads answering calls.
  explicit WorkerPool(size_t threads, int nice = 0);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void Submit(std::function<void()> task);

 private:
  void Run();

  std::mutex mu_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace loupe::server
