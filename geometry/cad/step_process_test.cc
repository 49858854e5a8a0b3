// The STEP reader program as the readers start it (read_step.cc): while
// other threads of the caller allocate, when it hangs, answers garbage or
// is missing. The file is the STEP fuzzer's seed (a 2 x 3 x 4 mm box
// written by OpenCASCADE).
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "geometry/cad/cad_readers.h"
#include "geometry/measure.h"

namespace loupe::geometry::cad {
namespace {

std::string Box() {
  std::ifstream in(
      std::string(LOUPE_SOURCE_DIR) + "/geometry/cad/fuzz/corpus/step/box.step",
      std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

// A shell script standing in for the reader program.
std::string Script(const std::string& name, const std::string& body) {
  const std::string path = ::testing::TempDir() + "step_process_test_" +
                           std::to_string(::getpid()) + "_" + name;
  std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
  ::chmod(path.c_str(), 0700);
  return path;
}

class StepProcessTest : public ::testing::Test {
 protected:
  void TearDown() override { ::unsetenv("LOUPE_STEP_READER"); }
};

// Before the reader was a program of its own, the caller forked and the
// child ran OpenCASCADE: a lock another thread held at the fork (the
// sanitizers' allocator's) stayed held in the child forever, and a
// registration hung (CI, GeometryServerTest.StepAnd3mfAssetsAreMeasured
// under AddressSanitizer). Reads now succeed however busy the caller's
// other threads are.
TEST_F(StepProcessTest, ReadsSucceedWhileOtherThreadsAllocate) {
  const std::string box = Box();
  ASSERT_FALSE(box.empty());
  std::atomic<bool> stop{false};
  std::vector<std::thread> churn;
  for (int t = 0; t < 4; ++t) {
    churn.emplace_back([&stop] {
      while (!stop.load(std::memory_order_relaxed)) {
        std::vector<std::unique_ptr<char[]>> blocks;
        for (int i = 0; i < 64; ++i) blocks.emplace_back(new char[4096 + i]);
      }
    });
  }
  for (int i = 0; i < 10; ++i) {
    auto read = ParseStep(box);
    ASSERT_TRUE(read.ok()) << "read " << i << ": " << read.status();
    EXPECT_NEAR(Measure(read->mesh).volume_mm3, 24, 1e-6);
  }
  stop = true;
  for (auto& t : churn) t.join();
}

TEST_F(StepProcessTest, AReaderThatHangsIsStoppedAtTheTimeLimit) {
  ::setenv("LOUPE_STEP_READER", Script("hang", "exec sleep 60").c_str(), 1);
  ReadLimits limits;
  limits.max_step_seconds = 1;
  const auto start = std::chrono::steady_clock::now();
  auto read = ParseStep(Box(), limits);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  ASSERT_EQ(read.status().code(), absl::StatusCode::kResourceExhausted)
      << read.status();
  EXPECT_NE(read.status().message().find("took more than 1 s"),
            std::string::npos)
      << read.status();
}

TEST_F(StepProcessTest, AReaderThatAnswersGarbageOrCrashesIsRefused) {
  ::setenv("LOUPE_STEP_READER", Script("garbage", "echo garbage").c_str(), 1);
  auto read = ParseStep(Box());
  EXPECT_EQ(read.status().code(), absl::StatusCode::kInternal) << read.status();
  EXPECT_NE(read.status().message().find("reader program"), std::string::npos)
      << read.status();

  ::setenv("LOUPE_STEP_READER", Script("crash", "kill -SEGV $$").c_str(), 1);
  read = ParseStep(Box());
  EXPECT_EQ(read.status().code(), absl::StatusCode::kInvalidArgument)
      << read.status();
  EXPECT_NE(read.status().message().find("crashed on this file (signal 11)"),
            std::string::npos)
      << read.status();
}

TEST_F(StepProcessTest, AMissingReaderIsNamed) {
  ::setenv("LOUPE_STEP_READER", "/nonexistent/loupe-step-reader", 1);
  auto read = ParseStep(Box());
  EXPECT_EQ(read.status().code(), absl::StatusCode::kInternal) << read.status();
  EXPECT_NE(read.status().message().find("/nonexistent/loupe-step-reader"),
            std::string::npos)
      << read.status();
}

}  // namespace
}  // namespace loupe::geometry::cad
