// Durability under SIGKILL: concurrent clients create pieces, upload assets
// and add versions while loupe-server is killed mid-load; after each restart
// every write a client saw acknowledged must be present and intact (asset
// digests re-verified by downloading), its version's entry must be in the
// transparency log, and the log after restart must be consistent with every
// checkpoint published before the crash. Five kill/restart cycles.
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "crypto/log_entry.h"
#include "tests/log_util.h"
#include "tests/test_server.h"
#include "tests/test_util.h"

namespace loupe::testing {
namespace {

using google::protobuf::util::MessageDifferencer;

constexpr int kCycles = 5;
constexpr int kWriters = 6;

// What clients saw acknowledged.
struct Ledger {
  std::mutex mu;
  std::vector<v1::Piece> pieces;
  std::vector<v1::TwinVersion> versions;
  // sha256 -> size of acknowledged uploads.
  std::map<std::string, uint64_t> assets;
  std::atomic<int> failures_after_kill{0};
  // Checkpoints published while the load ran: (size, root).
  std::vector<std::pair<uint64_t, crypto::Hash>> checkpoints;
};

// Polls the newest checkpoint until the server dies, as a witness would.
void Witness(const std::string& target, Ledger* ledger) {
  client::RegistryClient c(target, "");
  for (;;) {
    auto checkpoint = GetCheckpoint(c);
    if (!checkpoint.ok()) return;
    {
      std::lock_guard<std::mutex> lock(ledger->mu);
      ledger->checkpoints.emplace_back(
          checkpoint->tree_size(),
          crypto::HashFromBytes(checkpoint->root_hash()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// Every acknowledged version has its entry in the log, and the log is
// consistent with every checkpoint published before.
void VerifyLog(TestServer& server, Ledger& ledger) {
  auto c = server.Client("");
  auto now = GetCheckpoint(*c);
  ASSERT_TRUE(now.ok()) << now.status();
  const crypto::Hash root = crypto::HashFromBytes(now->root_hash());
  for (const auto& [size, old_root] : ledger.checkpoints) {
    if (size == 0) continue;
    auto proof = GetConsistency(*c, size, now->tree_size());
    ASSERT_TRUE(proof.ok()) << proof.status();
    ASSERT_TRUE(crypto::VerifyConsistency(size, now->tree_size(), old_root,
                                          root, ToHashes(proof->hashes())))
        << "the log after restart is not consistent with checkpoint " << size;
  }
  auto entries = GetAllEntries(*c, now->tree_size());
  ASSERT_TRUE(entries.ok()) << entries.status();
  std::set<std::pair<std::string, uint32_t>> logged;
  for (const auto& e : *entries) {
    auto json = nlohmann::json::parse(e);
    if (json["type"] == "version") {
      logged.emplace(json["piece_id"], json["version"].get<uint32_t>());
    }
  }
  for (const auto& v : ledger.versions) {
    ASSERT_TRUE(logged.contains({v.piece_id(), v.number()}))
        << "acknowledged version not in the log: " << v.piece_id() << "/"
        << v.number();
  }
}

// One client's loop: piece, then versions each with a fresh upload, until an
// RPC fails (the server was killed).
void Writer(const std::string& target, int cycle, int id, Ledger* ledger) {
  client::RegistryClient c(target, kAurumToken);
  std::mt19937 rng(cycle * 100 + id);
  for (int n = 0;; ++n) {
    auto piece = c.CreatePiece(PieceRequest(
        "aurum", "crash-" + std::to_string(cycle) + "-" + std::to_string(id) +
                     "-" + std::to_string(n)));
    if (!piece.ok()) return;
    {
      std::lock_guard<std::mutex> lock(ledger->mu);
      ledger->pieces.push_back(*piece);
    }
    for (uint32_t parent = 0; parent < 3; ++parent) {
      const std::string bytes =
          TestBytes(1000 + rng() % (3 << 20), static_cast<uint32_t>(rng()));
      auto up = c.UploadBytes(HeaderFor(bytes), bytes);
      if (!up.ok()) return;
      {
        std::lock_guard<std::mutex> lock(ledger->mu);
        ledger->assets[up->sha256()] = bytes.size();
      }
      auto request = VersionRequest(piece->id(), parent,
                                    parent == 0 ? v1::VERSION_REASON_ORIGINAL
                                                : v1::VERSION_REASON_REPAIR);
      *request.mutable_version()->add_assets() = CadAsset(bytes);
      auto version = c.AddVersion(request);
      if (!version.ok()) return;
      std::lock_guard<std::mutex> lock(ledger->mu);
      ledger->versions.push_back(*version);
    }
  }
}

void VerifyLedger(TestServer& server, Ledger& ledger) {
  auto admin = server.Client(kAdminToken);
  for (const auto& piece : ledger.pieces) {
    auto got = admin->GetPiece(piece.id());
    ASSERT_TRUE(got.ok()) << "acknowledged piece lost: " << piece.id() << " "
                          << got.status();
    EXPECT_EQ(got->studio_reference(), piece.studio_reference());
  }
  std::map<std::string, std::string> asset_piece;
  for (const auto& version : ledger.versions) {
    auto got = admin->GetVersion(version.piece_id(), version.number());
    ASSERT_TRUE(got.ok()) << "acknowledged version lost: " << version.piece_id()
                          << "/" << version.number();
    EXPECT_TRUE(MessageDifferencer::Equals(*got, version));
    EXPECT_GE(admin->GetPiece(version.piece_id())->current_version(),
              version.number());
    asset_piece[version.assets(0).sha256()] = version.piece_id();
  }
  for (const auto& [sha, size] : ledger.assets) {
    v1::DownloadAssetRequest d;
    d.set_sha256(sha);
    d.set_piece_id(asset_piece.count(sha) ? asset_piece[sha] : "");
    // The uploader can always read its own upload, with or without a piece.
    auto bytes = server.Client(kAurumToken)->DownloadBytes(d);
    ASSERT_TRUE(bytes.ok()) << "acknowledged asset lost or corrupt: " << sha
                            << " " << bytes.status();
    EXPECT_EQ(bytes->size(), size);
  }
}

TEST(CrashTest, AcknowledgedWritesSurviveSigkill) {
  TestServer server;
  server.EnableSigning();
  Ledger ledger;
  std::mt19937 rng(20261123);
  for (int cycle = 0; cycle < kCycles; ++cycle) {
    ASSERT_OK(server.Start());
    ASSERT_NO_FATAL_FAILURE(VerifyLedger(server, ledger));
    ASSERT_NO_FATAL_FAILURE(VerifyLog(server, ledger));
    const size_t versions_before = ledger.versions.size();
    std::vector<std::thread> writers;
    writers.emplace_back(Witness, server.target(), &ledger);
    for (int id = 0; id < kWriters; ++id) {
      writers.emplace_back(Writer, server.target(), cycle, id, &ledger);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(800 + rng() % 1500));
    server.Kill();
    for (auto& w : writers) w.join();
    // The load really ran: some writes were acknowledged in this cycle.
    EXPECT_GT(ledger.versions.size(), versions_before) << "cycle " << cycle;
  }
  ASSERT_OK(server.Start());
  VerifyLedger(server, ledger);
  VerifyLog(server, ledger);
  std::cout << "[ crash    ] " << kCycles << " SIGKILL cycles; verified "
            << ledger.pieces.size() << " pieces, " << ledger.versions.size()
            << " versions, " << ledger.assets.size() << " assets, "
            << ledger.checkpoints.size() << " checkpoints\n";
}

}  // namespace
}  // namespace loupe::testing
