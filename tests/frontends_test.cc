// Three real loupe-server front ends on one PostgreSQL database (a cluster
// the test starts: server/storage/postgres/test_cluster_for_tests.h), as
// docs/scale-out.md deploys them: concurrent appends to one piece, a
// certificate issued through one front end verified with proofs fetched
// from another, `loupe log audit` across the checkpoints any of them
// published, and front ends killed (SIGKILL) under load.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "crypto/sha256.h"
#include "server/storage/postgres/test_cluster_for_tests.h"
#include "tests/test_server.h"
#include "tests/test_util.h"

namespace loupe::testing {
namespace {

using std::chrono::milliseconds;
using namespace std::chrono_literals;
using storage::testing::SharedPostgresCluster;

CliResult RunCli(const std::string& args) {
  return RunCommand(std::string(LOUPE_CLI_BIN) + " " + args);
}

// Stops and joins the writer threads however a test ends: a failed ASSERT
// must report, not std::terminate on joinable threads.
struct Joiner {
  std::atomic<bool>* stop;
  std::vector<std::thread>* threads;
  ~Joiner() {
    *stop = true;
    for (auto& t : *threads) {
      if (t.joinable()) t.join();
    }
  }
};

class FrontEndsTest : public ::testing::Test {
 protected:
  static constexpr int kFrontEnds = 3;

  void SetUp() override {
    auto& cluster = SharedPostgresCluster();
    database_ = cluster.UniqueName("frontends");
    auto url = cluster.CreateDatabase(database_);
    ASSERT_TRUE(url.ok()) << url.status();
    for (int i = 0; i < kFrontEnds; ++i) {
      servers_.push_back(std::make_unique<TestServer>());
    }
    // One log, one signing key: every front end signs with the first's.
    root_ = servers_[0]->EnableSigning();
    const std::string keys = servers_[0]->keys_dir();
    for (int i = 0; i < kFrontEnds; ++i) {
      if (i > 0) {
        servers_[i]->AppendConfig("signing { key_file: '" + keys +
                                  "/signing-key.json' " + "passphrase_file: '" +
                                  keys + "/passphrase' root_files: '" + keys +
                                  "/root.json' }");
      }
      servers_[i]->AppendConfig("storage { postgres { url: '" + *url +
                                "' apply_migrations: true } }\n"
                                "log { checkpoint_interval_ms: 100 }");
    }
    for (auto& s : servers_) ASSERT_OK(s->Start());
    dir_ = ::testing::TempDir() + "/frontends_" + database_;
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // The lease holder's pid (holders are "host/pid/random"), 0 if none.
  pid_t LeaseHolderPid() {
    auto holder = SharedPostgresCluster().Sql(
        database_,
        "SELECT holder FROM publisher_lease WHERE expires_unix_ms > "
        "CAST(EXTRACT(EPOCH FROM now()) * 1000 AS BIGINT)");
    if (!holder.ok() || holder->empty()) return 0;
    const size_t a = holder->find('/');
    const size_t b = holder->find('/', a + 1);
    if (a == std::string::npos || b == std::string::npos) return 0;
    return std::stoi(holder->substr(a + 1, b - a - 1));
  }
  // Which front end holds the lease (waits up to 5 s for one), -1 if none.
  int LeaseHolder() {
    const auto deadline = std::chrono::steady_clock::now() + milliseconds(5000);
    while (std::chrono::steady_clock::now() < deadline) {
      const pid_t pid = LeaseHolderPid();
      for (int i = 0; i < kFrontEnds; ++i) {
        if (servers_[i]->running() && servers_[i]->pid() == pid) return i;
      }
      std::this_thread::sleep_for(milliseconds(50));
    }
    return -1;
  }

  std::string Audit(int i, const std::string& more) {
    return "log audit --root " + root_ + " --server " + servers_[i]->target() +
           more;
  }

  std::string database_;
  std::string root_;
  std::string dir_;
  std::vector<std::unique_ptr<TestServer>> servers_;
};

TEST_F(FrontEndsTest, AppendsCertificatesAndAuditsAcrossFrontEnds) {
  std::vector<std::unique_ptr<client::RegistryClient>> aurum;
  for (auto& s : servers_) aurum.push_back(s->Client(kAurumToken));
  const std::string cad = TestBytes(20000, 7);
  ASSERT_TRUE(aurum[1]->UploadBytes(HeaderFor(cad), cad).ok());
  auto request = PieceRequest("aurum", "FE-1");
  *request.mutable_first_version()->add_assets() = CadAsset(cad);
  auto piece = aurum[1]->CreatePiece(request);  // The upload is on [1] too.
  ASSERT_TRUE(piece.ok()) << piece.status();

  // Each round, every front end appends to the same parent at once:
  // exactly one wins, the others are ABORTED (the parent moved on).
  for (uint32_t parent = 1; parent <= 6; ++parent) {
    std::vector<absl::Status> results(kFrontEnds);
    std::vector<std::thread> threads;
    for (int i = 0; i < kFrontEnds; ++i) {
      threads.emplace_back([&, i] {
        results[i] = aurum[i]
                         ->AddVersion(VersionRequest(piece->id(), parent,
                                                     v1::VERSION_REASON_REPAIR))
                         .status();
      });
    }
    for (auto& t : threads) t.join();
    int won = 0;
    for (const auto& r : results) {
      if (r.ok()) {
        ++won;
      } else {
        EXPECT_EQ(r.code(), absl::StatusCode::kAborted) << r;
      }
    }
    EXPECT_EQ(won, 1) << "parent " << parent;
    for (auto& c : aurum) {
      auto p = c->GetPiece(piece->id());
      ASSERT_TRUE(p.ok()) << p.status();
      EXPECT_EQ(p->current_version(), parent + 1);  // Every one sees it.
    }
  }

  // A certificate issued through [2], checked with proofs and checkpoints
  // that [0] serves.
  auto cert = aurum[2]->IssueCertificate(piece->id(), 1);  // The CAD's.
  ASSERT_TRUE(cert.ok()) << cert.status();
  std::ofstream(dir_ + "/cert.json") << cert->bundle_json();
  std::ofstream(dir_ + "/ring.stl", std::ios::binary) << cad;
  const std::string check =
      " --root " + root_ + " --file " + dir_ + "/ring.stl";
  auto r = RunCli("verify " + dir_ + "/cert.json" + check);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  r = RunCli("verify " + dir_ + "/cert.json" + check + " --online --server " +
             servers_[0]->target());
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("proof fetched online"), std::string::npos)
      << r.output;
  r = RunCli("cert get --refresh " + dir_ + "/cert.json --server " +
             servers_[1]->target());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = RunCli("verify " + dir_ + "/cert.json" + check);
  EXPECT_EQ(r.exit_code, 0) << r.output;

  // One publisher holds the lease; the others follow.
  const int holder = LeaseHolder();
  ASSERT_GE(holder, 0);
  int publishers = 0;
  for (auto& s : servers_) {
    publishers += s->log().find("publishes checkpoints") != std::string::npos;
  }
  EXPECT_EQ(publishers, 1);  // Nobody else ever signed.

  // Audits through each front end, each against the checkpoint the
  // previous one served and saved: one consistent history.
  std::string saved;
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < kFrontEnds; ++i) {
      const std::string file =
          dir_ + "/cp" + std::to_string(round * kFrontEnds + i) + ".txt";
      r = RunCli(Audit(i, (saved.empty() ? "" : " --checkpoint " + saved) +
                              " --save " + file));
      EXPECT_EQ(r.exit_code, 0) << r.output;
      if (!saved.empty()) {
        EXPECT_NE(r.output.find("consistent with the saved"), std::string::npos)
            << r.output;
      }
      saved = file;
    }
    // More entries, through another front end, between the rounds.
    ASSERT_TRUE(aurum[(holder + 1) % kFrontEnds]
                    ->AddVersion(VersionRequest(piece->id(), 7 + round,
                                                v1::VERSION_REASON_REPAIR))
                    .ok());
  }
}

// Front ends killed under load, five times: the lease holder each time, so
// the lease moves. Nothing acknowledged is lost; the log stays contiguous
// and consistent with every checkpoint published before each kill.
TEST_F(FrontEndsTest, SigkillOfFrontEndsUnderLoadLosesNothing) {
  std::mutex mu;
  std::vector<std::string> targets;
  for (auto& s : servers_) targets.push_back(s->target());
  std::map<std::string, int> acknowledged;  // piece id -> front end.
  std::atomic<bool> stop = false;
  std::atomic<int> attempts = 0;
  std::vector<std::thread> writers;
  for (int w = 0; w < 6; ++w) {
    writers.emplace_back([&, w] {
      std::map<std::string, std::unique_ptr<client::RegistryClient>> clients;
      for (int n = 0; !stop; ++n) {
        const int fe = (w + n) % kFrontEnds;
        std::string target;
        {
          std::lock_guard lock(mu);
          target = targets[fe];
        }
        auto& c = clients[target];
        if (c == nullptr) {
          c = std::make_unique<client::RegistryClient>(target, kAurumToken);
        }
        ++attempts;
        auto request = PieceRequest(
            "aurum", "K-" + std::to_string(w) + "-" + std::to_string(n));
        // With a first version: one log entry each.
        request.mutable_first_version()->set_reason(
            v1::VERSION_REASON_ORIGINAL);
        auto piece = c->CreatePiece(request);
        if (piece.ok()) {
          std::lock_guard lock(mu);
          acknowledged[piece->id()] = fe;
        } else {
          std::this_thread::sleep_for(milliseconds(20));
        }
      }
    });
  }
  const Joiner joiner{&stop, &writers};
  std::vector<std::string> checkpoints;  // Saved before each kill.
  std::set<int> holders;
  for (int cycle = 0; cycle < 5; ++cycle) {
    std::this_thread::sleep_for(milliseconds(800));
    const int victim = LeaseHolder();
    ASSERT_GE(victim, 0) << "cycle " << cycle << ": no front end holds the "
                         << "lease";
    holders.insert(victim);
    const int witness = (victim + 1) % kFrontEnds;
    const std::string file = dir_ + "/before" + std::to_string(cycle) + ".txt";
    auto r = RunCli(Audit(witness, " --save " + file));
    ASSERT_EQ(r.exit_code, 0) << "cycle " << cycle << ": " << r.output;
    checkpoints.push_back(file);
    servers_[victim]->Kill();  // Mid-load: its writers' calls fail.
    // Another front end takes the lease once it expires (1 s).
    const auto killed_at = std::chrono::steady_clock::now();
    int next = -1;
    while (std::chrono::steady_clock::now() - killed_at < milliseconds(5000)) {
      next = LeaseHolder();
      if (next >= 0) break;
    }
    ASSERT_GE(next, 0) << "the lease did not move";
    ASSERT_NE(next, victim);
    ASSERT_OK(servers_[victim]->Start());
    std::lock_guard lock(mu);
    targets[victim] = servers_[victim]->target();
  }
  std::this_thread::sleep_for(milliseconds(500));
  stop = true;
  for (auto& t : writers) t.join();
  EXPECT_GE(holders.size(), 2u);  // The lease moved.
  ASSERT_GT(acknowledged.size(), 20u) << attempts << " attempts";

  // Every acknowledged write, through a front end other than its own.
  std::vector<std::unique_ptr<client::RegistryClient>> readers;
  for (auto& s : servers_) readers.push_back(s->Client(kAurumToken));
  for (const auto& [id, fe] : acknowledged) {
    auto p = readers[(fe + 1) % kFrontEnds]->GetPiece(id);
    EXPECT_TRUE(p.ok()) << id << ": " << p.status();
  }
  // The log: contiguous (the audit reads every entry and recomputes the
  // root) and consistent with every checkpoint saved before a kill.
  for (size_t i = 0; i < checkpoints.size(); ++i) {
    auto r = RunCli(Audit(static_cast<int>(i) % kFrontEnds,
                          " --entries --checkpoint " + checkpoints[i]));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("consistent with the saved"), std::string::npos)
        << r.output;
  }
  auto size = SharedPostgresCluster().Sql(database_,
                                          "SELECT COUNT(*) FROM log_entries");
  auto next = SharedPostgresCluster().Sql(
      database_, "SELECT next_index FROM log_coordinator");
  auto top = SharedPostgresCluster().Sql(
      database_, "SELECT COALESCE(MAX(entry_index) + 1, 0) FROM log_entries");
  ASSERT_TRUE(size.ok() && next.ok() && top.ok());
  EXPECT_EQ(*size, *next);  // No gap, nothing beyond the coordinator.
  EXPECT_EQ(*top, *next);
  EXPECT_GE(std::stoull(*size), acknowledged.size());
}

// PostgreSQL restarted (fast shutdown) under load from every front end:
// callers get UNAVAILABLE (never an error that tells them to give up) and
// retry the same request; afterwards every acknowledged registration is
// there with the id it was acknowledged with, and nothing is there twice:
// one piece per reference, one version and one log entry per piece, and
// the log consistent with the checkpoint saved before the restart.
TEST_F(FrontEndsTest, PostgresRestartMidLoadLosesNothingAndDoublesNothing) {
  std::mutex mu;
  std::map<std::string, std::string> acknowledged;  // reference -> id.
  std::map<absl::StatusCode, int> failures;
  std::atomic<int> recovered_by_reference = 0;
  std::atomic<bool> stop = false;
  std::vector<std::thread> writers;
  for (int w = 0; w < 6; ++w) {
    writers.emplace_back([&, w] {
      auto c = servers_[w % kFrontEnds]->Client(kAurumToken);
      for (int n = 0; !stop; ++n) {
        const std::string ref =
            "R-" + std::to_string(w) + "-" + std::to_string(n);
        auto request = PieceRequest("aurum", ref);
        request.mutable_first_version()->set_reason(
            v1::VERSION_REASON_ORIGINAL);
        // The same request until it is acknowledged. A call whose commit
        // outcome was unknown (UNAVAILABLE) may have registered the piece:
        // the retry then gets ALREADY_EXISTS naming it, as docs/api.md
        // tells clients, and that piece is the acknowledged one.
        const auto give_up = std::chrono::steady_clock::now() + 30s;
        absl::StatusOr<v1::Piece> piece = c->CreatePiece(request);
        bool retried = false;
        while (!piece.ok() && std::chrono::steady_clock::now() < give_up) {
          const absl::Status& s = piece.status();
          const size_t named = s.message().find("as piece ");
          if (retried && s.code() == absl::StatusCode::kAlreadyExists &&
              named != std::string_view::npos) {
            v1::Piece known;
            known.set_id(std::string(s.message().substr(named + 9)));
            piece = known;
            ++recovered_by_reference;
            break;
          }
          {
            std::lock_guard lock(mu);
            ++failures[s.code()];
          }
          retried = true;
          std::this_thread::sleep_for(milliseconds(50));
          piece = c->CreatePiece(request);
        }
        if (!piece.ok()) {
          ADD_FAILURE() << ref << " never succeeded: " << piece.status();
          return;
        }
        std::lock_guard lock(mu);
        acknowledged[ref] = piece->id();
      }
    });
  }
  const Joiner joiner{&stop, &writers};
  std::this_thread::sleep_for(milliseconds(700));
  size_t acknowledged_before;
  {
    std::lock_guard lock(mu);
    acknowledged_before = acknowledged.size();
  }
  const std::string before = dir_ + "/before-restart.txt";
  auto r = RunCli(Audit(0, " --save " + before));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_OK(SharedPostgresCluster().Restart());
  std::this_thread::sleep_for(milliseconds(1500));
  stop = true;
  for (auto& t : writers) t.join();

  {
    std::lock_guard lock(mu);
    EXPECT_GT(acknowledged_before, 0u);
    EXPECT_GT(acknowledged.size(), acknowledged_before);  // Recovered.
    EXPECT_GT(failures[absl::StatusCode::kUnavailable], 0);
    for (const auto& [code, count] : failures) {
      EXPECT_TRUE(code == absl::StatusCode::kUnavailable ||
                  code == absl::StatusCode::kAborted)
          << count << " calls failed with " << absl::StatusCodeToString(code);
    }
    std::cout << "calls failed during the restart: "
              << failures[absl::StatusCode::kUnavailable] << " UNAVAILABLE, "
              << failures[absl::StatusCode::kAborted] << " ABORTED; "
              << recovered_by_reference
              << " retries found their piece already registered\n";
  }
  auto reader = servers_[1]->Client(kAurumToken);
  for (const auto& [ref, id] : acknowledged) {
    auto p = reader->GetPiece(id);
    ASSERT_TRUE(p.ok()) << ref << " (" << id << "): " << p.status();
    EXPECT_EQ(p->studio_reference(), ref);
  }
  auto& cluster = SharedPostgresCluster();
  auto count = [&](const std::string& sql) {
    auto v = cluster.Sql(database_, sql);
    EXPECT_TRUE(v.ok()) << sql << ": " << v.status();
    return v.ok() ? std::stoull(*v) : 0;
  };
  const uint64_t pieces = count("SELECT COUNT(*) FROM pieces");
  EXPECT_EQ(pieces, acknowledged.size());
  EXPECT_EQ(count("SELECT COUNT(DISTINCT studio_reference) FROM pieces"),
            pieces);
  EXPECT_EQ(count("SELECT COUNT(*) FROM versions"), pieces);
  EXPECT_EQ(count("SELECT COUNT(*) FROM log_entries"), pieces);
  EXPECT_EQ(count("SELECT next_index FROM log_coordinator"), pieces);
  r = RunCli(Audit(2, " --entries --checkpoint " + before));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("consistent with the saved"), std::string::npos)
      << r.output;
}

CliResult RunServerCli(const std::string& args) {
  return RunCommand(std::string(LOUPE_SERVER_BIN) + " " + args);
}

// `loupe-server migrate`: a registry made on embedded RocksDB, copied into
// PostgreSQL and served from there by a front end with the same key.
TEST(MigrateTest, ARocksDbRegistryIsServedFromPostgresAfterMigrate) {
  TestServer rocks;
  const std::string root = rocks.EnableSigning();
  ASSERT_OK(rocks.Start());
  auto aurum = rocks.Client(kAurumToken);
  const std::string cad = TestBytes(1500000, 9);  // Two chunks.
  ASSERT_TRUE(aurum->UploadBytes(HeaderFor(cad), cad).ok());
  std::vector<std::string> pieces;
  for (int i = 0; i < 12; ++i) {
    auto request = PieceRequest("aurum", "M-" + std::to_string(i));
    *request.mutable_first_version()->add_assets() = CadAsset(cad);
    auto piece = aurum->CreatePiece(request);
    ASSERT_TRUE(piece.ok()) << piece.status();
    pieces.push_back(piece->id());
    ASSERT_TRUE(aurum
                    ->AddVersion(VersionRequest(piece->id(), 1,
                                                v1::VERSION_REASON_RESIZE))
                    .ok());
  }
  auto cert = aurum->IssueCertificate(pieces[3], 1);
  ASSERT_TRUE(cert.ok()) << cert.status();
  const std::string dir =
      ::testing::TempDir() + "/migrate_" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/cert.json") << cert->bundle_json();
  std::ofstream(dir + "/ring.stl", std::ios::binary) << cad;
  const std::string saved = dir + "/before.txt";
  auto r = RunCli("log audit --root " + root + " --server " + rocks.target() +
                  " --save " + saved);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_EQ(rocks.Stop(), 0);

  auto& cluster = SharedPostgresCluster();
  const std::string database = cluster.UniqueName("migrated");
  auto url = cluster.CreateDatabase(database);
  ASSERT_TRUE(url.ok()) << url.status();
  // Usage errors: 2.
  EXPECT_EQ(RunServerCli("migrate --from " + rocks.data_dir()).exit_code, 2);
  EXPECT_EQ(
      RunServerCli("migrate --from " + rocks.data_dir() + " --to mysql://x")
          .exit_code,
      2);
  r = RunServerCli("migrate --from " + rocks.data_dir() + " --to '" + *url +
                   "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("copied: 12 pieces, 24 versions, 1 certificates"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("matches"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("migrated: the copy proves out"), std::string::npos)
      << r.output;
  // Once only: the destination now holds a registry.
  r = RunServerCli("migrate --from " + rocks.data_dir() + " --to '" + *url +
                   "'");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("already holds a registry"), std::string::npos)
      << r.output;

  // A PostgreSQL front end with the same key serves the copy.
  TestServer front;
  const std::string keys = rocks.keys_dir();
  front.AppendConfig("signing { key_file: '" + keys +
                     "/signing-key.json' passphrase_file: '" + keys +
                     "/passphrase' root_files: '" + keys + "/root.json' }");
  front.AppendConfig("storage { postgres { url: '" + *url + "' } }");
  ASSERT_OK(front.Start());
  auto reader = front.Client(kAurumToken);
  for (const auto& id : pieces) {
    auto p = reader->GetPiece(id);
    ASSERT_TRUE(p.ok()) << id << ": " << p.status();
    EXPECT_EQ(p->current_version(), 2u);
  }
  v1::DownloadAssetRequest download;
  download.set_sha256(crypto::Sha256::HexOf(cad));
  download.set_piece_id(pieces[0]);
  auto bytes = reader->DownloadBytes(download);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_EQ(*bytes, cad);
  const std::string check = " --root " + root + " --file " + dir + "/ring.stl";
  r = RunCli("verify " + dir + "/cert.json" + check);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  r = RunCli("verify " + dir + "/cert.json" + check + " --online --server " +
             front.target());
  EXPECT_EQ(r.exit_code, 0) << r.output;
  r = RunCli("log audit --root " + root + " --server " + front.target() +
             " --entries --checkpoint " + saved);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("consistent with the saved"), std::string::npos)
      << r.output;
  // And it keeps appending where the copy ended.
  ASSERT_TRUE(
      front.Client(kAurumToken)
          ->AddVersion(VersionRequest(pieces[0], 2, v1::VERSION_REASON_REPAIR))
          .ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace loupe::testing
