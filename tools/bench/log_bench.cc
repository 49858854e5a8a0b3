// Transparency-log benchmarks (issue 4), on the real RocksDB store:
//   1. Log appends per second with durable writes: status changes (the
//      piece record plus one log entry, in the store's synced group
//      commit) from 64 concurrent writers, against raw synced RocksDB
//      writes of the same size from 64 threads in the same run.
//      Target >= 10,000/s on 2 cores.
//   2. Inclusion-proof generation at 1,000,000 entries (2 threads), against
//      raw SHA-256 node hashing in the same run. Target >= 50,000 proofs/s.
// Usage: log_bench [SECONDS per phase] [ENTRIES]
#include <rocksdb/db.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <future>
#include <random>
#include <thread>

#include "crypto/log_entry.h"
#include "crypto/merkle.h"
#include "server/registry/ledger.h"
#include "server/storage/rocks/rocks_store.h"
#include "tools/bench/bench_util.h"

namespace loupe {
namespace {

namespace fs = std::filesystem;
using bench::Clock;
using bench::RunConcurrently;
using bench::Since;
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

server::Ledger::PieceMutation StatusChange(std::string piece, uint64_t n) {
  return [piece = std::move(piece),
          n](v1::Piece& p) -> absl::StatusOr<server::Ledger::PieceChange> {
    p.set_status_sequence(p.status_sequence() + 1);
    return server::Ledger::PieceChange{{StatusEntry(piece, n)}, std::nullopt};
  };
}

double RawSyncedWritesPerSecond(const fs::path& dir, int threads,
                                double seconds) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.enable_write_thread_adaptive_yield = false;
  rocksdb::DB* db = nullptr;
  if (!rocksdb::DB::Open(options, dir.string(), &db).ok()) std::abort();
  rocksdb::WriteOptions sync;
  sync.sync = true;
  const std::string value(StatusEntry("pc_bench", 1).size() + 32, 'v');
  std::atomic<uint64_t> key{0};
  const double rate = RunConcurrently(threads, seconds, [&](int) {
    return db->Put(sync, "e" + std::to_string(key++), value).ok();
  });
  delete db;
  return rate;
}

std::unique_ptr<storage::Store> OpenWithPieces(const fs::path& dir, int n) {
  auto store = storage::OpenRocksStore(dir.string());
  if (!store.ok()) std::abort();
  for (int i = 0; i < n; ++i) {
    v1::Piece p;
    p.set_id("pc_bench" + std::to_string(i));
    p.set_studio_id("aurum");
    p.set_studio_reference("bench-" + std::to_string(i));
    if (!server::Ledger(store->get()).CreatePieceAndWait(p).ok()) std::abort();
  }
  return *std::move(store);
}

double AppendsPerSecond(storage::Store& store, int threads, double seconds) {
  std::vector<uint64_t> counters(threads, 0);
  return RunConcurrently(threads, seconds, [&](int t) {
    std::promise<bool> ok;
    server::Ledger(&store).MutatePiece(
        "pc_bench" + std::to_string(t),
        StatusChange("pc_bench" + std::to_string(t), ++counters[t]),
        [&](absl::StatusOr<v1::Piece> p) { ok.set_value(p.ok()); });
    return ok.get_future().get();
  });
}

// Appends `n` entries with up to 4096 in flight (bulk loading).
void Fill(storage::Store& store, uint64_t n) {
  std::atomic<uint64_t> in_flight{0}, failed{0};
  std::mutex mu;
  std::condition_variable cv;
  for (uint64_t i = 0; i < n; ++i) {
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return in_flight < 4096; });
      ++in_flight;
    }
    server::Ledger(&store).MutatePiece("pc_bench0",
                                       StatusChange("pc_bench0", i),
                                       [&](absl::StatusOr<v1::Piece> p) {
                                         if (!p.ok()) ++failed;
                                         std::lock_guard lock(mu);
                                         --in_flight;
                                         cv.notify_one();
                                       });
  }
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return in_flight == 0; });
  if (failed > 0) std::abort();
}

}  // namespace
}  // namespace loupe

int main(int argc, char** argv) {
  using namespace loupe;
  const double seconds = argc > 1 ? std::atof(argv[1]) : 5;
  const uint64_t entries =
      argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1000000;
  constexpr int kWriters = 64;
  const fs::path dir = fs::temp_directory_path() /
                       ("loupe_log_bench_" + std::to_string(getpid()));
  fs::remove_all(dir);

  double appends = 0;
  {
    auto store = OpenWithPieces(dir / "appends", kWriters);
    appends = AppendsPerSecond(*store, kWriters, seconds);
  }
  const double raw = RawSyncedWritesPerSecond(dir / "raw", kWriters, seconds);
  std::printf(
      "log appends: %.0f/s (status changes, durable, %d writers) | raw synced "
      "RocksDB writes: %.0f/s (%d threads) | ratio %.2f\n"
      "  target >= 10000 appends/s: %s\n",
      appends, kWriters, raw, kWriters, appends / raw,
      appends >= 10000 ? "met" : "NOT MET");

  auto store = OpenWithPieces(dir / "proofs", 1);
  auto fill_start = std::chrono::steady_clock::now();
  Fill(*store, entries);
  const double fill_rate = entries / Since(fill_start);
  const uint64_t size = *store->LogSize();
  std::mt19937_64 seed(7);
  std::vector<uint64_t> seeds = {seed(), seed()};
  const double proofs = RunConcurrently(2, seconds, [&](int t) {
    thread_local std::mt19937_64 rng(seeds[t]);
    return store->LogInclusionProof(rng() % size, size).ok();
  });
  // The anchor: SHA-256 node hashes per second, 2 threads.
  crypto::Hash a = crypto::LeafHash("a"), b = crypto::LeafHash("b");
  const double hashes = RunConcurrently(2, seconds / 2, [&](int) {
    thread_local crypto::Hash h = a;
    h = crypto::NodeHash(h, b);
    return true;
  });
  std::printf(
      "inclusion proofs at %llu entries: %.0f proofs/s (2 threads) | raw "
      "SHA-256 node hashes: %.0f/s | ratio %.4f (a proof has %d hashes)\n"
      "  context: bulk append with 4096 in flight: %.0f entries/s\n"
      "  target >= 50000 proofs/s: %s\n",
      static_cast<unsigned long long>(size), proofs, hashes, proofs / hashes,
      static_cast<int>(store->LogInclusionProof(0, size)->size()), fill_rate,
      proofs >= 50000 ? "met" : "NOT MET");
  store.reset();
  fs::remove_all(dir);
  return 0;
}
