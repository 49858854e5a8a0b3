// Start-up of a PostgreSQL front end on a large log (issue 17: a front end
// "starts in seconds at 10 million entries" because the tree's tiles are
// stored, not rebuilt). Against a real PostgreSQL 15 cluster this benchmark
// starts (server/storage/postgres/test_cluster_for_tests.h):
//   1. Loads ENTRIES log entries and their C2SP tiles in bulk (entries made
//      by generate_series inside the database, tiles hashed here), as the
//      engine would have stored them.
//   2. The figure: a real loupe-server front end started on that database,
//      until it listens and until it has published a checkpoint of the
//      whole log, with its RSS; and a store opened in this process, with
//      one inclusion proof.
//   3. The anchor, in the same run: what a front end without stored tiles
//      would do at start, reading every entry and hashing the tree.
// Usage: postgres_startup_bench [ENTRIES, default 10000000]
#include <unistd.h>

#include <cstdio>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

#include "crypto/merkle.h"
#include "server/storage/postgres/postgres_store.h"
#include "server/storage/postgres/test_cluster_for_tests.h"
#include "tests/test_server.h"
#include "tools/bench/bench_util.h"

namespace loupe::bench {
namespace {

using storage::testing::PostgresTestCluster;
constexpr uint64_t kTileWidth = 256;

[[noreturn]] void Die(const std::string& what) {
  DieAs("postgres_startup_bench", what);
}

std::string Entry(uint64_t i) {
  return "loupe bench entry " + std::to_string(i);
}
constexpr char kEntrySql[] = "convert_to('loupe bench entry ' || i, 'UTF8')";

// Tiles of the tree over `leaves` hashes, level by level, as the engine
// stores them (full tiles of 256 hashes, then the partial one).
class TileWriter {
 public:
  explicit TileWriter(pqxx::work& txn) : txn_(txn) {}
  void Add(int level, const crypto::Hash& h) {
    if (levels_.size() <= static_cast<size_t>(level)) levels_.resize(level + 1);
    Level& l = levels_[level];
    l.hashes.push_back(h);
    if (l.hashes.size() == kTileWidth) {
      Write(level, l.index++, l.hashes);
      const crypto::Hash root = crypto::SubtreeRoot(l.hashes, 0, kTileWidth);
      l.hashes.clear();
      Add(level + 1, root);
    }
  }
  void Finish() {
    for (size_t level = 0; level < levels_.size(); ++level) {
      if (!levels_[level].hashes.empty()) {
        Write(level, levels_[level].index, levels_[level].hashes);
      }
    }
  }

 private:
  struct Level {
    uint64_t index = 0;
    std::vector<crypto::Hash> hashes;
  };
  void Write(int level, uint64_t index, const std::vector<crypto::Hash>& hs) {
    std::string bytes;
    for (const auto& h : hs)
      bytes.append(reinterpret_cast<const char*>(h.data()), h.size());
    txn_.exec_params(
        "INSERT INTO log_tiles (tile_level, tile_index, hashes) VALUES ($1, "
        "$2, $3)",
        level, static_cast<int64_t>(index),
        pqxx::binarystring(bytes.data(), bytes.size()));
  }
  pqxx::work& txn_;
  std::vector<Level> levels_;
};

void BulkLoad(const std::string& url, uint64_t n) {
  {  // The schema, as a front end creates it.
    storage::PostgresOptions options;
    options.url = url;
    options.apply_migrations = true;
    auto store = storage::OpenPostgresStore(options);
    if (!store.ok()) Die(store.status().ToString());
  }
  pqxx::connection c(url);
  pqxx::work txn(c);
  constexpr uint64_t kChunk = 1000000;
  for (uint64_t first = 0; first < n; first += kChunk) {
    const uint64_t last = std::min(n, first + kChunk) - 1;
    txn.exec("INSERT INTO log_entries (entry_index, entry) SELECT i, " +
             std::string(kEntrySql) + " FROM generate_series(" +
             std::to_string(first) + "::BIGINT, " + std::to_string(last) +
             "::BIGINT) i");
    std::fprintf(stderr, "\r  loading: %llu of %llu entries",
                 static_cast<unsigned long long>(last + 1),
                 static_cast<unsigned long long>(n));
  }
  TileWriter tiles(txn);
  for (uint64_t i = 0; i < n; ++i) tiles.Add(0, crypto::LeafHash(Entry(i)));
  tiles.Finish();
  txn.exec("UPDATE log_coordinator SET next_index = " + std::to_string(n) +
           " WHERE id = 0");
  txn.commit();
  std::fprintf(stderr, "\n");
}

// The anchor: every entry read back and the tree hashed, as a front end
// without stored tiles would at start. Returns seconds; checks the root.
double RebuildFromEntries(const std::string& url, uint64_t n,
                          crypto::Hash* root) {
  const auto start = Clock::now();
  pqxx::connection c(url);
  pqxx::work txn(c);
  std::vector<crypto::Hash> leaves;
  leaves.reserve(n);
  constexpr uint64_t kChunk = 200000;
  for (uint64_t first = 0; first < n; first += kChunk) {
    const auto r = txn.exec_params(
        "SELECT entry FROM log_entries WHERE entry_index >= $1 AND "
        "entry_index < $2 ORDER BY entry_index",
        static_cast<int64_t>(first), static_cast<int64_t>(first + kChunk));
    for (const auto& row : r) {
      leaves.push_back(crypto::LeafHash(pqxx::binarystring(row[0]).str()));
    }
  }
  if (leaves.size() != n) Die("anchor read " + std::to_string(leaves.size()));
  *root = crypto::SubtreeRoot(leaves, 0, n);
  return Since(start);
}

// Waits until the front end has stored a checkpoint of `n` entries.
double UntilCheckpoint(PostgresTestCluster& cluster, const std::string& db,
                       uint64_t n, Clock::time_point start) {
  while (Since(start) < 300) {
    auto size = cluster.Sql(db,
                            "SELECT COALESCE(MAX(tree_size), 0) FROM "
                            "log_checkpoint");
    if (size.ok() && std::stoull(*size) >= n) return Since(start);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  Die("no checkpoint of the whole log within 300 s");
}

}  // namespace
}  // namespace loupe::bench

int main(int argc, char** argv) {
  using namespace loupe::bench;
  const uint64_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 10000000;
  if (n == 0 || argc > 2) {
    std::cerr << "usage: postgres_startup_bench [ENTRIES]\n";
    return 2;
  }
  auto cluster = PostgresTestCluster::Start();
  if (!cluster.ok()) Die(cluster.status().ToString());
  const std::string db = (*cluster)->UniqueName("startup");
  auto url = (*cluster)->CreateDatabase(db);
  if (!url.ok()) Die(url.status().ToString());
  const auto load_start = Clock::now();
  BulkLoad(*url, n);
  const double load = Since(load_start);

  // The figure: a real front end on the loaded log.
  auto server = std::make_unique<loupe::testing::TestServer>();
  server->EnableSigning();
  server->AppendConfig("storage { postgres { url: '" + *url + "' } }");
  const auto start = Clock::now();
  if (auto s = server->Start(); !s.ok()) Die(s.ToString());
  const double listening = Since(start);
  const double checkpointed = UntilCheckpoint(**cluster, db, n, start);
  const long rss = StatusKb(server->pid(), "VmRSS:");
  server.reset();

  // A store in this process: open, one proof against the root.
  const auto open_start = Clock::now();
  loupe::storage::PostgresOptions options;
  options.url = *url;
  auto store = loupe::storage::OpenPostgresStore(options);
  if (!store.ok()) Die(store.status().ToString());
  auto proof = (*store)->LogInclusionProof(n / 3, n);
  if (!proof.ok()) Die(proof.status().ToString());
  const double store_open = Since(open_start);

  loupe::crypto::Hash root{};
  const double rebuild = RebuildFromEntries(*url, n, &root);
  if (!loupe::crypto::VerifyInclusion(loupe::crypto::LeafHash(Entry(n / 3)),
                                      n / 3, n, *proof, root)) {
    Die("the stored tiles' proof does not match the rebuilt root");
  }
  std::printf(
      "front end start-up at %llu log entries on PostgreSQL: listening in "
      "%.2f s, first checkpoint of the whole log at %.2f s, RSS %.1f MB | "
      "reading every entry and hashing the tree: %.2f s | ratio %.3f\n",
      static_cast<unsigned long long>(n), listening, checkpointed, rss / 1024.0,
      rebuild, checkpointed / rebuild);
  std::printf(
      "  context: a store opened in this process and one inclusion proof: "
      "%.2f s; bulk load of the entries and tiles: %.0f s\n",
      store_open, load);
  Report("front end starts in seconds (checkpoint within 10 s)",
         checkpointed < 10);
  return 0;
}
