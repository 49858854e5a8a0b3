// The transparency log through a real server: proofs checked by an
// independent verifier, checkpoints by an independent signed-note
// verifier, status and ownership rules, and a log rewritten in storage.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "base/file.h"
#include "crypto/checkpoint.h"
#include "crypto/dsse.h"
#include "crypto/key_file.h"
#include "crypto/piece_status.h"
#include "crypto/trust_root.h"
#include "server/storage/keys.h"
#include "server/storage/rocks/raw_db_for_tests.h"
#include "tests/log_util.h"
#include "tests/test_server.h"
#include "tests/test_util.h"

namespace loupe::testing {
namespace {

std::string Hex(const crypto::Hash& h) { return crypto::ToHex(h); }

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_path_ = server_.EnableSigning();
    ASSERT_OK(server_.Start());
    aurum_ = server_.Client(kAurumToken);
    auto text = ReadFileToString(root_path_);
    root_ = *crypto::VerifyInitialRoot(*crypto::EnvelopeFromJson(*text));
  }

  // Registers `n` pieces, each with its version 1 (one log entry each).
  void AddPieces(int n, const std::string& prefix) {
    for (int i = 0; i < n; ++i) {
      auto request = PieceRequest("aurum", prefix + std::to_string(i));
      request.mutable_first_version()->set_reason(v1::VERSION_REASON_ORIGINAL);
      ASSERT_TRUE(aurum_->CreatePiece(request).ok());
    }
  }

  absl::StatusOr<v1::Piece> Call(client::RegistryClient& c,
                                 const v1::ChangeStatusRequest& r) {
    return c.Call<v1::Piece>(r, [&](auto* ctx, auto& rq, auto* rs) {
      return c.stub().ChangeStatus(ctx, rq, rs);
    });
  }
  absl::StatusOr<v1::Piece> Call(client::RegistryClient& c,
                                 const v1::TransferOwnerRequest& r) {
    return c.Call<v1::Piece>(r, [&](auto* ctx, auto& rq, auto* rs) {
      return c.stub().TransferOwner(ctx, rq, rs);
    });
  }
  absl::StatusOr<v1::Piece> Call(client::RegistryClient& c,
                                 const v1::SetOwnerRequest& r) {
    return c.Call<v1::Piece>(r, [&](auto* ctx, auto& rq, auto* rs) {
      return c.stub().SetOwner(ctx, rq, rs);
    });
  }
  v1::ChangeStatusRequest Status(const std::string& piece,
                                 v1::StatusAction action) {
    v1::ChangeStatusRequest r;
    r.set_piece_id(piece);
    r.set_action(action);
    r.set_reason("case 2026-117");
    return r;
  }

  TestServer server_;
  std::string root_path_;
  crypto::TrustRoot root_;
  std::unique_ptr<client::RegistryClient> aurum_;
};

// RFC 6962/9162 conformance of what the server serves: every inclusion
// proof for every index and every consistency proof for every pair of
// sizes, for all tree sizes 1 to 64, checked by tests/interop/
// verify_merkle.py (written from the RFC), against roots it recomputes
// from the served entries; the signed checkpoint by verify_note.py.
TEST_F(LogTest, ServedProofsAndCheckpointsPassIndependentVerifiers) {
  constexpr uint64_t kSize = 64;
  AddPieces(kSize, "conf-");
  auto checkpoint = GetCheckpoint(*aurum_);
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
  ASSERT_EQ(checkpoint->tree_size(), kSize);
  auto entries = GetAllEntries(*aurum_, kSize);
  ASSERT_TRUE(entries.ok()) << entries.status();
  std::vector<crypto::Hash> leaves;
  nlohmann::json data = {{"entries", nlohmann::json::array()},
                         {"roots", nlohmann::json::object()},
                         {"inclusion", nlohmann::json::array()},
                         {"consistency", nlohmann::json::array()}};
  for (const auto& e : *entries) {
    leaves.push_back(crypto::LeafHash(e));
    data["entries"].push_back(crypto::ToHex(e));
  }
  EXPECT_EQ(crypto::SubtreeRoot(leaves, 0, kSize),
            crypto::HashFromBytes(checkpoint->root_hash()));
  auto hexes = [](const auto& hashes) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& h : hashes) out.push_back(Hex(crypto::HashFromBytes(h)));
    return out;
  };
  for (uint64_t n = 1; n <= kSize; ++n) {
    data["roots"][std::to_string(n)] = Hex(crypto::SubtreeRoot(leaves, 0, n));
    for (uint64_t i = 0; i < n; ++i) {
      auto proof = GetInclusion(*aurum_, i, n);
      ASSERT_TRUE(proof.ok()) << proof.status();
      data["inclusion"].push_back(
          {{"index", i}, {"size", n}, {"proof", hexes(proof->hashes())}});
    }
    for (uint64_t m = 1; m <= n; ++m) {
      auto proof = GetConsistency(*aurum_, m, n);
      ASSERT_TRUE(proof.ok()) << proof.status();
      data["consistency"].push_back(
          {{"old", m}, {"new", n}, {"proof", hexes(proof->hashes())}});
    }
  }
  const std::string dir = ::testing::TempDir();
  std::ofstream(dir + "/served_proofs.json") << data.dump();
  const std::string python = "/usr/bin/python3 " LOUPE_SOURCE_DIR;
  EXPECT_EQ(std::system((python + "/tests/interop/verify_merkle.py " + dir +
                         "/served_proofs.json")
                            .c_str()),
            0);
  // A wrong proof hash is noticed.
  data["inclusion"][77]["proof"][0] = Hex(crypto::LeafHash("forged"));
  std::ofstream(dir + "/served_proofs.json", std::ios::trunc) << data.dump();
  EXPECT_NE(std::system((python + "/tests/interop/verify_merkle.py " + dir +
                         "/served_proofs.json > /dev/null")
                            .c_str()),
            0);

  std::ofstream(dir + "/checkpoint.txt") << checkpoint->note();
  const crypto::RootKey* key = nullptr;
  for (const auto& k : root_.keys) {
    if (k.HasRole(crypto::kRoleCheckpoint)) key = &k;
  }
  ASSERT_NE(key, nullptr);
  const std::string vkey =
      crypto::NoteVerifierKey(root_.origin, key->public_key);
  const std::string note_cmd =
      python + "/tests/interop/verify_note.py " + dir + "/checkpoint.txt '";
  EXPECT_EQ(std::system((note_cmd + vkey + "' > /dev/null").c_str()), 0);
  // A checkpoint signed by another key is refused by the same verifier.
  auto other = crypto::SigningKey::Generate();
  EXPECT_NE(
      std::system((note_cmd +
                   crypto::NoteVerifierKey(root_.origin, other->public_key()) +
                   "' > /dev/null 2>&1")
                      .c_str()),
      0);
}

TEST_F(LogTest, BadRequestsNameTheField) {
  AddPieces(3, "bad-");
  EXPECT_STATUS(GetInclusion(*aurum_, 3, 3).status(), kInvalidArgument,
                "index");
  EXPECT_STATUS(GetInclusion(*aurum_, 0, 4).status(), kInvalidArgument,
                "tree_size");
  EXPECT_STATUS(GetConsistency(*aurum_, 0, 3).status(), kInvalidArgument,
                "old_size");
  v1::GetEntriesRequest r;
  r.set_count(1001);
  auto s = aurum_->Call<v1::GetEntriesResponse>(
      r, [&](auto* ctx, auto& rq, auto* rs) {
        return aurum_->log_stub().GetEntries(ctx, rq, rs);
      });
  EXPECT_STATUS(s.status(), kInvalidArgument, "count");
  // The log is public: no token needed.
  auto anonymous = server_.Client("");
  EXPECT_TRUE(GetCheckpoint(*anonymous).ok());
}

TEST_F(LogTest, StatusAndOwnershipRules) {
  AddPieces(1, "own-");
  const std::string id = aurum_->ListPieces({})->pieces(0).id();
  auto first = crypto::SigningKey::Generate();
  auto second = crypto::SigningKey::Generate();
  auto hex = [](const crypto::SigningKey& k) {
    return crypto::ToHex(k.public_key().data(), k.public_key().size());
  };
  v1::SetOwnerRequest set;
  set.set_piece_id(id);
  set.set_owner_public_key(hex(*first));
  EXPECT_STATUS(Call(*server_.Client(kBelliniToken), set).status(),
                kPermissionDenied, "piece_id");
  ASSERT_TRUE(Call(*aurum_, set).ok());
  EXPECT_STATUS(Call(*aurum_, set).status(), kFailedPrecondition,
                "already has an owner");

  // A transfer signed by the owner, with no token; then its replay.
  auto anonymous = server_.Client("");
  v1::TransferOwnerRequest transfer;
  transfer.set_transfer_json(crypto::EnvelopeToJson(
      crypto::SignOwnerTransfer({id, second->public_key(), 2}, *first)));
  auto moved = Call(*anonymous, transfer);
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_EQ(moved->owner_sequence(), 2u);
  EXPECT_STATUS(Call(*anonymous, transfer).status(), kUnauthenticated,
                "current owner");
  // Signed by the right key but for an old sequence: a replay.
  transfer.set_transfer_json(crypto::EnvelopeToJson(
      crypto::SignOwnerTransfer({id, first->public_key(), 2}, *second)));
  EXPECT_STATUS(Call(*anonymous, transfer).status(), kFailedPrecondition,
                "replayed");

  // Reported stolen by an insurer: no transfer until recovered.
  auto insurer = server_.Client(kInsurerToken);
  EXPECT_STATUS(
      Call(*aurum_, Status(id, v1::STATUS_ACTION_REPORT_STOLEN)).status(),
      kPermissionDenied, "an insurer the piece or its studio names");
  ASSERT_TRUE(Call(*insurer, Status(id, v1::STATUS_ACTION_REPORT_STOLEN)).ok());
  transfer.set_transfer_json(crypto::EnvelopeToJson(
      crypto::SignOwnerTransfer({id, first->public_key(), 3}, *second)));
  EXPECT_STATUS(Call(*anonymous, transfer).status(), kFailedPrecondition,
                "reported stolen");
  // The owner reports it recovered with a signed report (no token).
  auto recover = Status(id, v1::STATUS_ACTION_RECOVER);
  recover.set_owner_report_json(crypto::EnvelopeToJson(
      crypto::SignStatusReport({id, "recover", recover.reason(), 2}, *second)));
  auto recovered = Call(*anonymous, recover);
  ASSERT_TRUE(recovered.ok()) << recovered.status();
  EXPECT_EQ(recovered->status(), v1::PIECE_STATUS_ACTIVE);
  EXPECT_STATUS(Call(*anonymous, recover).status(), kFailedPrecondition,
                "replayed");
  EXPECT_TRUE(Call(*anonymous, transfer).ok());
  // Without a token or a report: refused. Revocation is final.
  EXPECT_STATUS(
      Call(*anonymous, Status(id, v1::STATUS_ACTION_REPORT_LOST)).status(),
      kUnauthenticated, "token");
  ASSERT_TRUE(Call(*aurum_, Status(id, v1::STATUS_ACTION_REVOKE)).ok());
  EXPECT_STATUS(Call(*aurum_, Status(id, v1::STATUS_ACTION_UNSUSPEND)).status(),
                kFailedPrecondition, "revoked");

  // The history is in the log: 1 version, 3 owners, 3 status changes.
  auto checkpoint = GetCheckpoint(*aurum_);
  auto entries = GetAllEntries(*aurum_, checkpoint->tree_size());
  ASSERT_EQ(entries->size(), 7u);
  int owners = 0, statuses = 0;
  for (const auto& e : *entries) {
    owners += e.find("\"type\":\"owner\"") != std::string::npos;
    statuses += e.find("\"type\":\"status\"") != std::string::npos;
  }
  EXPECT_EQ(owners, 3);
  EXPECT_EQ(statuses, 3);
  EXPECT_NE((*entries)[4].find("\"by\":\"owner\""), std::string::npos)
      << (*entries)[4];
}

TEST_F(LogTest, AnEntryRewrittenInStorageStopsTheLogNotTheRegistry) {
  AddPieces(5, "tamper-");
  auto before = GetCheckpoint(*aurum_);
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(server_.Stop(), 0);
  {
    storage::RawDbForTests raw(server_.data_dir());
    ASSERT_TRUE(raw.status().ok()) << raw.status().ToString();
    std::string value;
    ASSERT_TRUE(raw.db()
                    ->Get({}, raw.cf("log"), storage::keys::LogEntry(2), &value)
                    .ok());
    std::string entry = value.substr(32);
    entry.replace(entry.find("aurum"), 5, "bogus");
    const crypto::Hash leaf = crypto::LeafHash(entry);
    ASSERT_TRUE(raw.db()
                    ->Put({}, raw.cf("log"), storage::keys::LogEntry(2),
                          std::string(leaf.begin(), leaf.end()) + entry)
                    .ok());
  }
  ASSERT_OK(server_.Start());
  aurum_ = server_.Client(kAurumToken);  // The port changed.
  EXPECT_STATUS(GetCheckpoint(*aurum_).status(), kDataLoss,
                "differs from the signed checkpoint");
  EXPECT_STATUS(GetInclusion(*aurum_, 0, 5).status(), kDataLoss,
                "transparency log");
  // The rest of the registry still answers; new log entries are refused.
  EXPECT_TRUE(aurum_->ListPieces({}).ok());
  auto request = PieceRequest("aurum", "after-tamper");
  request.mutable_first_version()->set_reason(v1::VERSION_REASON_ORIGINAL);
  EXPECT_STATUS(aurum_->CreatePiece(request).status(), kDataLoss,
                "transparency log");
  EXPECT_NE(server_.log().find("WARNING"), std::string::npos);
}

// A witness holding a checkpoint of a forked history (signed with the
// registry's own key, as a registry that equivocates would) is told the
// log is inconsistent; an honest saved checkpoint passes.
TEST_F(LogTest, AuditReportsAForkedHistory) {
  AddPieces(4, "fork-");
  const std::string dir = ::testing::TempDir();
  auto honest = GetCheckpoint(*aurum_);
  std::ofstream(dir + "/honest.txt") << honest->note();
  auto key = crypto::OpenSigningKey(
      *ReadFileToString(server_.signing_key_file()), "test passphrase");
  ASSERT_TRUE(key.ok()) << key.status();
  std::vector<crypto::Hash> other;
  for (int i = 0; i < 3; ++i)
    other.push_back(crypto::LeafHash("fork " + std::to_string(i)));
  std::ofstream(dir + "/forked.txt") << crypto::SignCheckpoint(
      {root_.origin, 3, crypto::SubtreeRoot(other, 0, 3)}, root_.origin, *key);
  AddPieces(2, "more-");
  auto audit = [&](const std::string& saved) {
    const std::string command = std::string(LOUPE_CLI_BIN) + " --server " +
                                server_.target() + " log audit --root " +
                                root_path_ + " --entries --checkpoint " +
                                saved + " > " + dir + "/audit.txt 2>&1";
    const int status = std::system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  EXPECT_EQ(audit(dir + "/honest.txt"), 0)
      << *ReadFileToString(dir + "/audit.txt");
  EXPECT_NE(
      ReadFileToString(dir + "/audit.txt")
          ->find("OK, 6 entries, consistent with the saved 4, root recomputed"),
      std::string::npos)
      << *ReadFileToString(dir + "/audit.txt");
  EXPECT_EQ(audit(dir + "/forked.txt"), 1);
  EXPECT_NE(ReadFileToString(dir + "/audit.txt")->find("INCONSISTENT"),
            std::string::npos)
      << *ReadFileToString(dir + "/audit.txt");
  // A checkpoint not signed by the root's key is a usage error (exit 2).
  auto stranger = crypto::SigningKey::Generate();
  std::ofstream(dir + "/stranger.txt", std::ios::trunc)
      << crypto::SignCheckpoint(
             {root_.origin, 3, crypto::SubtreeRoot(other, 0, 3)}, root_.origin,
             *stranger);
  EXPECT_EQ(audit(dir + "/stranger.txt"), 2);
}

}  // namespace
}  // namespace loupe::testing
