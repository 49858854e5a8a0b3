#pragma once

// Tests and benchmarks only: a real S3 server of the caller's own, a
// single-node OpenStack Swift with its s3api middleware, from the Debian
// packages (tools/setup.sh installs swift-proxy, swift-object,
// swift-container, swift-account, python3-swift). Everything lives in a
// fresh temporary directory: configuration, rings (one device, one
// replica), the object/container/account storage. Its four servers listen
// on free loopback ports and run under /usr/bin/python3 (Debian's Swift is
// not on pyenv's python). Authentication is tempauth with one user; the
// cache tempauth insists on is an in-process dict (no memcached).
//
// Swift keeps object metadata in extended attributes: Start() checks that
// the temporary directory's filesystem takes user xattrs and fails
// (FAILED_PRECONDITION naming it) if not; set TMPDIR to a filesystem that
// does (tmpfs and ext4 do).
//
// Servers die with the test process (PR_SET_PDEATHSIG); a directory a
// crashed test left behind is removed by the next Start(). Not
// thread-safe; one instance per test binary is enough (SharedSwift()).

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/storage/s3/s3_client.h"

namespace loupe::storage::s3::testing {

class TestSwift {
 public:
  // Access key id and secret of the one user (account "test", user
  // "tester"; Swift's access keys are "account:user").
  static constexpr char kAccessKeyId[] = "test:tester";
  static constexpr char kSecret[] = "testing";
  static constexpr char kRegion[] = "us-east-1";

  // Writes the configuration, builds the rings, starts the servers and
  // waits until an S3 request succeeds. FAILED_PRECONDITION naming what is
  // missing (Swift, xattrs), INTERNAL with the servers' logs otherwise.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<TestSwift>> Start();
  // Stops the servers and removes the directory.
  ~TestSwift();
  TestSwift(const TestSwift&) = delete;
  TestSwift& operator=(const TestSwift&) = delete;

  // SIGKILLs the servers (their data stays); Resume() starts them again on
  // the same ports. For "the S3 server went away" tests.
  void Kill();
  [[nodiscard]] absl::Status Resume();

  // "http://127.0.0.1:PORT".
  [[nodiscard]] std::string endpoint() const;
  // Options for `bucket` with this server's endpoint and keys, and short
  // retries (tests should not wait long for a server that is down).
  [[nodiscard]] S3Options Options(const std::string& bucket) const;
  // A client for a new bucket of its own (created), named `prefix` plus a
  // counter.
  [[nodiscard]] absl::StatusOr<std::unique_ptr<S3Client>> NewBucket(
      const std::string& prefix);
  [[nodiscard]] const std::string& dir() const { return dir_; }
  // Seconds Start() took (printed by tests and the benchmark).
  [[nodiscard]] double start_seconds() const { return start_seconds_; }

 private:
  explicit TestSwift(std::string dir) : dir_(std::move(dir)) {}
  [[nodiscard]] absl::Status WriteConfig();
  [[nodiscard]] absl::Status Launch();
  [[nodiscard]] absl::Status WaitReady();
  [[nodiscard]] std::string Logs() const;

  std::string dir_;
  int ports_[4] = {};  // proxy, account, container, object.
  std::vector<int> pids_;
  int next_bucket_ = 0;
  double start_seconds_ = 0;
};

// The process's one Swift, started on first use and stopped at exit. Dies
// with the reason if it cannot start: no test runs without it.
[[nodiscard]] TestSwift& SharedSwift();

}  // namespace loupe::storage::s3::testing
