#pragma once

// Tests only: a real PostgreSQL 15 cluster of the test's own, started from
// the Debian packages (tools/setup.sh installs postgresql-15): initdb in a
// fresh temporary directory as the unprivileged user `postgres` (the server
// refuses to run as root), listening only on a Unix socket in that
// directory, stopped (fast shutdown) and removed by the destructor. A
// cluster that a crashed test left behind is stopped and removed by the
// next Start(). Nothing is skipped when PostgreSQL is missing: Start()
// fails, naming the binary.
//
// One cluster per test binary is enough (SharedPostgresCluster): each test
// takes a database of its own (CreateDatabase), which costs a fraction of a
// second, where initdb costs seconds.

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace loupe::storage::testing {

class PostgresTestCluster {
 public:
  // Where Debian puts PostgreSQL 15's server programs.
  static constexpr char kBinDir[] = "/usr/lib/postgresql/15/bin";

  // initdb + pg_ctl start; FAILED_PRECONDITION naming what is missing (the
  // binaries, the postgres user) or INTERNAL with the server's log.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<PostgresTestCluster>>
  Start();
  // Stops the server (immediate shutdown: no checkpoint of data about to
  // be deleted) and removes the directory.
  ~PostgresTestCluster();
  PostgresTestCluster(const PostgresTestCluster&) = delete;
  PostgresTestCluster& operator=(const PostgresTestCluster&) = delete;

  // Creates database `name` (letters, digits, _) and returns its URL on
  // the Unix socket (postgresql://postgres@/NAME?host=SOCKETDIR).
  [[nodiscard]] absl::StatusOr<std::string> CreateDatabase(
      std::string_view name);
  // A name no other call in this process returned: `prefix` plus a
  // counter.
  [[nodiscard]] std::string UniqueName(std::string_view prefix);
  [[nodiscard]] std::string Url(std::string_view database) const;
  // Runs one SQL statement (as the superuser) in `database`: for damage
  // hooks and checks in tests. Returns the first column of the first row,
  // or "" if none.
  [[nodiscard]] absl::StatusOr<std::string> Sql(std::string_view database,
                                                const std::string& sql);
  // Stops the server (fast shutdown: clients are disconnected) and starts
  // it again on the same socket.
  [[nodiscard]] absl::Status Restart();

  [[nodiscard]] const std::string& dir() const { return dir_; }

 private:
  explicit PostgresTestCluster(std::string dir) : dir_(std::move(dir)) {}
  // "start", "stop" (fast shutdown) or "discard" (immediate shutdown).
  [[nodiscard]] absl::Status PgCtl(const std::string& action);

  std::string dir_;  // Owned by postgres; data/ and the socket inside.
  bool running_ = false;
  int next_name_ = 0;
};

// The process's one cluster, started on first use and stopped at exit
// (a registered gtest environment does it when the binary's tests are
// done). Dies with the reason if the cluster cannot start: no test runs
// without PostgreSQL.
[[nodiscard]] PostgresTestCluster& SharedPostgresCluster();

}  // namespace loupe::storage::testing
