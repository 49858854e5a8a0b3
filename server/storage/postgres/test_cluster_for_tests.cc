#include "server/storage/postgres/test_cluster_for_tests.h"

#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <pqxx/pqxx>
#include <sstream>
#include <vector>

#include "base/str_cat.h"

namespace loupe::storage::testing {
namespace {

namespace fs = std::filesystem;

constexpr char kDirPrefix[] = "loupe-pg-";
constexpr char kOwnerFile[] = "owner.pid";

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs `args` as the user postgres, output appended to `log`; the exit
// status (or -1 if it could not run).
int RunAsPostgres(const std::vector<std::string>& args,
                  const std::string& log) {
  std::vector<std::string> all = {"/usr/sbin/runuser", "-u", "postgres", "--"};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
    }
    execv(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  if (waitpid(pid, &status, 0) < 0) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string PgCtlPath() {
  return StrCat(PostgresTestCluster::kBinDir, "/pg_ctl");
}

// Stops and removes clusters whose test process is gone (it crashed).
void RemoveAbandonedClusters() {
  std::error_code ec;
  for (const auto& entry :
       fs::directory_iterator(fs::temp_directory_path(), ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with(kDirPrefix)) continue;
    const std::string owner = ReadFile(entry.path() / kOwnerFile);
    const pid_t pid = static_cast<pid_t>(std::atol(owner.c_str()));
    if (pid <= 0 || kill(pid, 0) == 0 || errno != ESRCH) continue;
    RunAsPostgres({PgCtlPath(), "-D", (entry.path() / "data").string(), "-m",
                   "immediate", "-w", "stop"},
                  "/dev/null");
    fs::remove_all(entry.path(), ec);
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresTestCluster>>
PostgresTestCluster::Start() {
  for (const char* program : {"initdb", "pg_ctl", "postgres"}) {
    if (access(StrCat(kBinDir, "/", program).c_str(), X_OK) != 0) {
      return absl::FailedPreconditionError(
          StrCat("PostgreSQL 15 is not installed: no ", kBinDir, "/", program,
                 " (run tools/setup.sh)"));
    }
  }
  const passwd* user = getpwnam("postgres");
  if (user == nullptr) {
    return absl::FailedPreconditionError(
        "no user `postgres` to run the test cluster as (install "
        "postgresql-15: tools/setup.sh)");
  }
  RemoveAbandonedClusters();
  std::string pattern =
      (fs::temp_directory_path() / StrCat(kDirPrefix, "XXXXXX")).string();
  if (mkdtemp(pattern.data()) == nullptr) {
    return absl::InternalError(StrCat("mkdtemp ", pattern, " failed"));
  }
  std::unique_ptr<PostgresTestCluster> cluster(
      new PostgresTestCluster(pattern));
  std::ofstream(fs::path(pattern) / kOwnerFile) << getpid() << "\n";
  if (chown(pattern.c_str(), user->pw_uid, user->pw_gid) != 0 ||
      chmod(pattern.c_str(), 0755) != 0) {
    return absl::InternalError(StrCat("cannot give ", pattern, " to postgres"));
  }
  const std::string log = (fs::path(pattern) / "setup.log").string();
  if (RunAsPostgres(
          {StrCat(kBinDir, "/initdb"), "-D", pattern + "/data", "-A", "trust",
           "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"},
          log) != 0) {
    return absl::InternalError(StrCat("initdb failed: ", ReadFile(log)));
  }
  if (auto s = cluster->PgCtl("start"); !s.ok()) return s;
  return cluster;
}

absl::Status PostgresTestCluster::PgCtl(const std::string& action) {
  const std::string log = dir_ + "/setup.log";
  // Only the Unix socket in dir_; fsync stays on (the tests are of a real
  // server); the pool of each test's stores needs few connections.
  const std::string options =
      StrCat("-k ", dir_, " -c listen_addresses='' -c max_connections=200");
  std::vector<std::string> args = {PgCtlPath(), "-D", dir_ + "/data",
                                   "-w",        "-t", "60"};
  if (action == "start") {
    args.insert(args.end(), {"-o", options, "-l", dir_ + "/server.log"});
  } else {
    // "stop" is a fast shutdown (clients disconnected, a checkpoint);
    // "discard" skips the checkpoint: the data is deleted next.
    args.insert(args.end(), {"-m", action == "stop" ? "fast" : "immediate"});
  }
  args.push_back(action == "start" ? "start" : "stop");
  if (RunAsPostgres(args, log) != 0) {
    return absl::InternalError(StrCat("pg_ctl ", action,
                                      " failed: ", ReadFile(log),
                                      ReadFile(dir_ + "/server.log")));
  }
  running_ = action == "start";
  return absl::OkStatus();
}

PostgresTestCluster::~PostgresTestCluster() {
  if (running_) {
    if (auto s = PgCtl("discard"); !s.ok()) std::cerr << s << "\n";
  }
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

absl::Status PostgresTestCluster::Restart() {
  if (auto s = PgCtl("stop"); !s.ok()) return s;
  return PgCtl("start");
}

std::string PostgresTestCluster::UniqueName(std::string_view prefix) {
  static std::mutex mu;
  std::lock_guard lock(mu);
  return StrCat(prefix, "_", next_name_++);
}

std::string PostgresTestCluster::Url(std::string_view database) const {
  return StrCat("postgresql://postgres@/", database, "?host=", dir_);
}

absl::StatusOr<std::string> PostgresTestCluster::Sql(std::string_view database,
                                                     const std::string& sql) {
  try {
    pqxx::connection c(Url(database));
    pqxx::nontransaction txn(c);
    const pqxx::result r = txn.exec(sql);
    if (r.empty() || r.columns() == 0 || r[0][0].is_null()) return "";
    return r[0][0].as<std::string>();
  } catch (const std::exception& e) {
    return absl::InternalError(StrCat(sql, ": ", e.what()));
  }
}

absl::StatusOr<std::string> PostgresTestCluster::CreateDatabase(
    std::string_view name) {
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') {
      return absl::InvalidArgumentError(StrCat("database name ", name));
    }
  }
  auto created = Sql("postgres", StrCat("CREATE DATABASE ", name));
  if (!created.ok()) return created.status();
  return Url(name);
}

PostgresTestCluster& SharedPostgresCluster() {
  static std::unique_ptr<PostgresTestCluster> cluster = [] {
    auto started = PostgresTestCluster::Start();
    if (!started.ok()) {
      std::cerr << "cannot start the test's PostgreSQL: " << started.status()
                << "\n";
      std::abort();
    }
    return *std::move(started);
  }();
  return *cluster;
}

}  // namespace loupe::storage::testing
