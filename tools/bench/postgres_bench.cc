// PostgreSQL engine benchmarks (issue 17), against a real PostgreSQL 15
// cluster this benchmark starts (server/storage/postgres/
// test_cluster_for_tests.h: fsync and synchronous_commit on, Unix socket),
// each figure printed with its anchor measured in the same run:
//   1. Atomic registrations/s (one CreatePiece carrying first_version, 16
//      gRPC clients, real loupe-server processes) on RocksDB, on PostgreSQL
//      with one front end and with two (clients split across them), against
//      the raw rate of synced one-row INSERT transactions through libpqxx
//      from 16 threads. Target >= 1,500/s on PostgreSQL.
//   2. Log appends/s on PostgreSQL (status changes through the ledger, 64
//      writers, as log_bench), against the same raw rate.
//   3. Inclusion proofs/s at ENTRIES entries from a store that did not build
//      the tree (a second store opened on the database after the fill),
//      against raw SHA-256 node hashing. Target >= 20,000/s.
//   4. Memory of a front end independent of the log's size: the RSS and
//      open time of a loupe-server front end on the ENTRIES-entry database
//      and on an empty one, and the second store's RSS growth in this
//      process. Target: the two front ends' RSS within 16 MB.
// Usage: postgres_bench [SECONDS per phase, default 5] [ENTRIES, 1000000]
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <future>
#include <iostream>
#include <mutex>
#include <pqxx/pqxx>
#include <random>
#include <thread>
#include <vector>

#include "crypto/log_entry.h"
#include "crypto/merkle.h"
#include "crypto/random.h"
#include "server/registry/ledger.h"
#include "server/storage/postgres/postgres_store.h"
#include "server/storage/postgres/test_cluster_for_tests.h"
#include "tests/test_server.h"
#include "tests/test_util.h"
#include "tools/bench/bench_util.h"

namespace loupe::bench {
namespace {

using storage::testing::PostgresTestCluster;

[[noreturn]] void Die(const std::string& what) {
  DieAs("postgres_bench", what);
}

std::string NewDatabase(PostgresTestCluster& cluster, std::string_view name,
                        std::string* database = nullptr) {
  const std::string unique = cluster.UniqueName(name);
  auto url = cluster.CreateDatabase(unique);
  if (!url.ok()) Die(url.status().ToString());
  if (database != nullptr) *database = unique;
  return *url;
}

// The next transaction id of the cluster: every writing transaction
// (committed or rolled back) takes one, read-only ones none.
uint64_t NextXid(PostgresTestCluster& cluster, const std::string& database) {
  auto n = cluster.Sql(database,
                       "SELECT pg_snapshot_xmax(pg_current_snapshot())::TEXT");
  if (!n.ok()) Die(n.status().ToString());
  return std::stoull(*n);
}

// The anchor: synced one-row INSERT transactions (autocommit, a random key
// and a 160-byte value, the size of a registration's piece record) from
// `threads` threads, each on its own connection.
double RawInsertsPerSecond(const std::string& url, int threads,
                           double seconds) {
  pqxx::connection setup(url);
  pqxx::nontransaction(setup).exec(
      "CREATE TABLE raw_inserts (id BYTEA PRIMARY KEY, record BYTEA NOT "
      "NULL)");
  std::vector<std::unique_ptr<pqxx::connection>> connections;
  for (int t = 0; t < threads; ++t) {
    connections.push_back(std::make_unique<pqxx::connection>(url));
  }
  const std::string value(160, 'v');
  return RunConcurrently(threads, seconds, [&](int t) {
    const std::string id = crypto::RandomId("pc_");
    pqxx::nontransaction txn(*connections[t]);
    txn.exec_params("INSERT INTO raw_inserts (id, record) VALUES ($1, $2)",
                    pqxx::binarystring(id.data(), id.size()),
                    pqxx::binarystring(value.data(), value.size()));
    return true;
  });
}

// The small metadata payload of a registration's version 1 (as
// registry_bench).
v1::TwinVersion FirstVersion() {
  v1::TwinVersion v;
  v.set_reason(v1::VERSION_REASON_ORIGINAL);
  v.mutable_assay()->set_alloy("18k rose gold");
  v.mutable_assay()->set_fineness_per_mille(750);
  (*v.mutable_assay()->mutable_composition())["Au"] = 0.75;
  (*v.mutable_assay()->mutable_composition())["Cu"] = 0.2;
  v.add_hallmarks()->set_sponsor_mark("AUR");
  v.mutable_ring_size()->set_system(v1::RING_SIZE_SYSTEM_US);
  v.mutable_ring_size()->set_value("7");
  return v;
}

// Atomic registrations per second from `clients` concurrent clients, each
// on its own connection, client i to front end i % servers.size().
// Counts the calls ABORTED (and retried) in *aborted.
double RegistrationsPerSecond(
    const std::vector<std::unique_ptr<testing::TestServer>>& servers,
    int clients, double seconds, std::atomic<uint64_t>* aborted) {
  std::vector<std::unique_ptr<client::RegistryClient>> stubs;
  for (int i = 0; i < clients; ++i) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt(GRPC_ARG_MINIMAL_STACK, 1);
    auto channel =
        grpc::CreateCustomChannel(servers[i % servers.size()]->target(),
                                  grpc::InsecureChannelCredentials(), args);
    // Connected before the clock starts: a connection attempt that times
    // out on a loaded machine is not a registration's cost.
    if (!channel->WaitForConnected(std::chrono::system_clock::now() +
                                   std::chrono::seconds(30))) {
      Die("could not connect to front end " + std::to_string(i));
    }
    stubs.push_back(std::make_unique<client::RegistryClient>(
        std::move(channel), testing::kAurumToken));
  }
  static std::atomic<uint64_t> counter{0};
  std::atomic<int> errors{0};
  const v1::TwinVersion first = FirstVersion();
  const double rate = RunConcurrently(clients, seconds, [&](int t) {
    auto request = testing::PieceRequest(
        "aurum", "bench-" + std::to_string(counter.fetch_add(1)));
    *request.mutable_first_version() = first;
    auto piece = stubs[t]->CreatePiece(request);
    // ABORTED: the commit group lost serialization conflicts (another front
    // end) kMaxAttempts times; the same request again is what a client
    // does (a registration by reference is idempotent).
    while (piece.status().code() == absl::StatusCode::kAborted) {
      ++*aborted;
      piece = stubs[t]->CreatePiece(request);
    }
    if (!piece.ok() && errors++ == 0) {
      std::cerr << "registration failed (" << servers.size()
                << " front ends): " << piece.status() << "\n";
    }
    return piece.ok();
  });
  if (errors > 0) Die(std::to_string(errors) + " registrations failed");
  return rate;
}

// `count` front ends on `url` ("" for RocksDB), started one after another.
std::vector<std::unique_ptr<testing::TestServer>> StartFrontEnds(
    const std::string& url, int count) {
  std::vector<std::unique_ptr<testing::TestServer>> servers;
  for (int i = 0; i < count; ++i) {
    servers.push_back(std::make_unique<testing::TestServer>());
    if (!url.empty()) {
      servers.back()->AppendConfig("storage { postgres { url: '" + url +
                                   "' apply_migrations: true } }");
    }
    if (auto s = servers.back()->Start(); !s.ok()) Die(s.ToString());
  }
  return servers;
}

// Registrations on `front_ends` new front ends on a new database; sets
// *per_commit to the registrations per writing transaction.
double PostgresRegistrations(PostgresTestCluster& cluster, int front_ends,
                             int clients, double seconds,
                             std::atomic<uint64_t>* aborted,
                             double* per_commit) {
  std::string database;
  auto servers =
      StartFrontEnds(NewDatabase(cluster, "regs", &database), front_ends);
  const uint64_t before = NextXid(cluster, database);
  const double rate =
      RegistrationsPerSecond(servers, clients, seconds, aborted);
  const uint64_t writes = NextXid(cluster, database) - before;
  *per_commit = rate * seconds / std::max<uint64_t>(writes, 1);
  return rate;
}

std::string StatusEntry(const std::string& piece, uint64_t n) {
  return *crypto::EncodeLogEntry("status",
                                 {{"piece_id", piece},
                                  {"status", n % 2 ? "lost" : "active"},
                                  {"previous", n % 2 ? "active" : "lost"},
                                  {"sequence", n},
                                  {"by", "insurer:bench"},
                                  {"reason", "benchmark report 2026-117"},
                                  {"at", "2026-11-23T00:00:00Z"}});
}

std::unique_ptr<storage::Store> OpenStore(const std::string& url) {
  storage::PostgresOptions options;
  options.url = url;
  options.apply_migrations = true;
  auto store = storage::OpenPostgresStore(options);
  if (!store.ok()) Die(store.status().ToString());
  return *std::move(store);
}

// Status changes (the piece record plus one log entry per write) from
// `writers` writers, each on a piece of its own, through the ledger.
double LogAppendsPerSecond(const std::string& url, int writers,
                           double seconds) {
  auto store = OpenStore(url);
  for (int i = 0; i < writers; ++i) {
    v1::Piece p;
    p.set_id("pc_bench" + std::to_string(i));
    p.set_studio_id("aurum");
    p.set_studio_reference("bench-" + std::to_string(i));
    auto s = server::Ledger(store.get()).CreatePieceAndWait(p);
    if (!s.ok()) Die(s.ToString());
  }
  std::vector<uint64_t> counters(writers, 0);
  return RunConcurrently(writers, seconds, [&](int t) {
    const std::string piece = "pc_bench" + std::to_string(t);
    const uint64_t n = ++counters[t];
    std::promise<bool> ok;
    server::Ledger(store.get())
        .MutatePiece(
            piece,
            [&](v1::Piece& p) -> absl::StatusOr<server::Ledger::PieceChange> {
              p.set_status_sequence(p.status_sequence() + 1);
              return server::Ledger::PieceChange{{StatusEntry(piece, n)},
                                                 std::nullopt};
            },
            [&](absl::StatusOr<v1::Piece> p) { ok.set_value(p.ok()); });
    return ok.get_future().get();
  });
}

// Appends `n` status entries fast: works of 1,000 AppendLog entries, 8 in
// flight, so that each commit group carries thousands.
void Fill(storage::Store& store, uint64_t n) {
  constexpr uint64_t kPerWork = 1000;
  constexpr int kInFlight = 8;
  std::mutex mu;
  std::condition_variable cv;
  int in_flight = 0;
  absl::Status failed;
  for (uint64_t first = 0; first < n; first += kPerWork) {
    const uint64_t count = std::min(kPerWork, n - first);
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return in_flight < kInFlight; });
      ++in_flight;
    }
    store.Commit(
        [first, count](storage::Transaction& txn) -> absl::Status {
          for (uint64_t i = first; i < first + count; ++i) {
            auto index = txn.AppendLog(StatusEntry("pc_fill", i));
            if (!index.ok()) return index.status();
          }
          return absl::OkStatus();
        },
        [&](absl::Status s) {
          std::lock_guard lock(mu);
          if (!s.ok()) failed = s;
          --in_flight;
          cv.notify_one();
        });
  }
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return in_flight == 0; });
  if (!failed.ok()) Die("fill: " + failed.ToString());
}

int BenchRegistrations(PostgresTestCluster& cluster, double seconds,
                       double* raw_out) {
  constexpr int kClients = 16;
  const double raw =
      RawInsertsPerSecond(NewDatabase(cluster, "raw"), kClients, seconds);
  *raw_out = raw;
  double rocks = 0, one = 0, two = 0;
  std::atomic<uint64_t> aborted_rocks{0}, aborted_one{0}, aborted_two{0};
  {
    auto servers = StartFrontEnds("", 1);
    rocks = RegistrationsPerSecond(servers, kClients, seconds, &aborted_rocks);
  }
  double per_commit_one = 0, per_commit_two = 0;
  one = PostgresRegistrations(cluster, 1, kClients, seconds, &aborted_one,
                              &per_commit_one);
  two = PostgresRegistrations(cluster, 2, kClients, seconds, &aborted_two,
                              &per_commit_two);
  std::printf(
      "registrations on PostgreSQL, 1 front end: %.0f/s (CreatePiece with "
      "first_version, %d clients) | raw synced libpqxx INSERTs: %.0f/s (%d "
      "threads, one row per transaction) | ratio %.2f\n",
      one, kClients, raw, kClients, one / raw);
  std::printf(
      "registrations on PostgreSQL, 2 front ends: %.0f/s (%d clients split "
      "across them) | ratio %.2f\n",
      two, kClients, two / raw);
  std::printf(
      "  context: calls ABORTED (serialization conflicts past the retry "
      "bound) and retried by the clients: %llu with 1 front end, %llu with "
      "2, %llu on RocksDB\n",
      static_cast<unsigned long long>(aborted_one.load()),
      static_cast<unsigned long long>(aborted_two.load()),
      static_cast<unsigned long long>(aborted_rocks.load()));
  std::printf(
      "  context: registrations per writing PostgreSQL transaction (commit "
      "group size; retried groups count again): %.1f with 1 front end, %.1f "
      "with 2\n",
      per_commit_one, per_commit_two);
  std::printf(
      "  context: registrations on RocksDB (embedded, 1 server): %.0f/s | "
      "PostgreSQL 1 front end / RocksDB %.2f\n",
      rocks, one / rocks);
  Report(">= 1500 registrations/s on PostgreSQL (1 front end)", one >= 1500);
  Report(">= 1500 registrations/s on PostgreSQL (2 front ends)", two >= 1500);
  return 0;
}

void BenchLogAppends(PostgresTestCluster& cluster, double seconds, double raw) {
  constexpr int kWriters = 64;
  const double appends =
      LogAppendsPerSecond(NewDatabase(cluster, "appends"), kWriters, seconds);
  std::printf(
      "log appends on PostgreSQL: %.0f/s (status changes, durable, %d "
      "writers, one store) | raw synced libpqxx INSERTs: %.0f/s | ratio "
      "%.2f\n",
      appends, kWriters, raw, appends / raw);
}

// Fills a database with `entries` entries through one store, then measures
// a second store and front ends that did not build the tree.
void BenchProofsAndMemory(PostgresTestCluster& cluster, double seconds,
                          uint64_t entries) {
  const std::string url = NewDatabase(cluster, "proofs");
  const auto fill_start = Clock::now();
  {
    auto builder = OpenStore(url);
    Fill(*builder, entries);
  }
  const double fill_rate = entries / Since(fill_start);

  const long rss_before = StatusKb(getpid(), "VmRSS:");
  auto open_start = Clock::now();
  auto store = OpenStore(url);
  const double store_open = Since(open_start);
  const long rss_opened = StatusKb(getpid(), "VmRSS:");
  const uint64_t size = *store->LogSize();
  if (size != entries) Die("log size " + std::to_string(size));
  std::mt19937_64 seed(7);
  std::vector<uint64_t> seeds = {seed(), seed()};
  const double proofs = RunConcurrently(2, seconds, [&](int t) {
    thread_local std::mt19937_64 rng(seeds[t]);
    return store->LogInclusionProof(rng() % size, size).ok();
  });
  const long rss_proofs = StatusKb(getpid(), "VmRSS:");
  const int proof_hashes =
      static_cast<int>(store->LogInclusionProof(0, size)->size());
  store.reset();
  crypto::Hash a = crypto::LeafHash("a"), b = crypto::LeafHash("b");
  const double hashes = RunConcurrently(2, seconds / 2, [&](int) {
    thread_local crypto::Hash h = a;
    h = crypto::NodeHash(h, b);
    return true;
  });

  // Real front ends: one on an empty registry, one on the filled log.
  auto start_timed = [&](const std::string& on, double* took) {
    const auto t0 = Clock::now();
    auto servers = StartFrontEnds(on, 1);
    *took = Since(t0);
    return StatusKb(servers[0]->pid(), "VmRSS:");
  };
  double empty_open = 0, full_open = 0;
  const long rss_empty =
      start_timed(NewDatabase(cluster, "empty"), &empty_open);
  const long rss_full = start_timed(url, &full_open);

  std::printf(
      "inclusion proofs at %llu entries from a store that did not build the "
      "tree: %.0f proofs/s (2 threads) | raw SHA-256 node hashes: %.0f/s | "
      "ratio %.4f (a proof has %d hashes)\n",
      static_cast<unsigned long long>(size), proofs, hashes, proofs / hashes,
      proof_hashes);
  std::printf("  context: fill with 1,000 entries per work: %.0f entries/s\n",
              fill_rate);
  Report(">= 20000 proofs/s", proofs >= 20000);
  std::printf(
      "front end memory: loupe-server RSS %.1f MB at %llu entries (open "
      "%.2f s) | on an empty registry %.1f MB (open %.2f s) | difference "
      "%.1f MB\n",
      rss_full / 1024.0, static_cast<unsigned long long>(size), full_open,
      rss_empty / 1024.0, empty_open, (rss_full - rss_empty) / 1024.0);
  std::printf(
      "  context: second store in this process: open %.2f s, RSS +%.1f MB "
      "after open, +%.1f MB after the proofs (tile cache, bounded at 4096 "
      "tiles)\n",
      store_open, (rss_opened - rss_before) / 1024.0,
      (rss_proofs - rss_before) / 1024.0);
  Report("front end RSS independent of the log (within 16 MB of empty)",
         rss_full - rss_empty < 16 * 1024);
}

}  // namespace
}  // namespace loupe::bench

int main(int argc, char** argv) {
  using namespace loupe::bench;
  const double seconds = argc > 1 ? std::atof(argv[1]) : 5.0;
  const uint64_t entries =
      argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1000000;
  if (seconds <= 0 || entries == 0 || argc > 3) {
    std::cerr << "usage: postgres_bench [SECONDS] [ENTRIES]\n";
    return 2;
  }
  auto cluster = PostgresTestCluster::Start();
  if (!cluster.ok()) Die(cluster.status().ToString());
  std::printf(
      "loupe PostgreSQL benchmark (%u cores, %.1f s per phase, PostgreSQL 15 "
      "on a Unix socket, fsync and synchronous_commit on)\n",
      std::thread::hardware_concurrency(), seconds);
  double raw = 0;
  if (int rc = BenchRegistrations(**cluster, seconds, &raw); rc != 0) {
    return rc;
  }
  BenchLogAppends(**cluster, seconds, raw);
  BenchProofsAndMemory(**cluster, seconds, entries);
  return 0;
}
