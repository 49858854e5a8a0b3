// The registry's write rules (ledger.h) on the in-memory engine: version
// numbering and the parent check, studio references, asset ownership and
// sizes, a piece with its first version, certificates, piece changes, and
// what each logs (nothing when refused).
#include "server/registry/ledger.h"

#include <gtest/gtest.h>

#include "crypto/sha256.h"
#include "server/storage/memory/memory_fixture_for_tests.h"

namespace loupe::server {
namespace {

class LedgerTest : public storage::MemoryStoreFixture {
 protected:
  static v1::Piece MakePiece(const std::string& id, const std::string& studio,
                             const std::string& reference) {
    v1::Piece p;
    p.set_id(id);
    p.set_studio_id(studio);
    p.set_studio_reference(reference);
    return p;
  }
  static v1::TwinVersion MakeVersion(const std::string& piece,
                                     uint32_t parent) {
    v1::TwinVersion v;
    v.set_piece_id(piece);
    v.set_parent_number(parent);
    v.set_reason(v1::VERSION_REASON_ORIGINAL);
    return v;
  }
  crypto::Sha256Digest Upload(const std::string& bytes,
                              const std::string& studio) {
    auto w = store_->BeginUpload();
    EXPECT_TRUE(w.ok());
    EXPECT_TRUE((*w)->Append(bytes).ok());
    const auto sha = crypto::Sha256::Of(bytes);
    EXPECT_TRUE((*w)->Commit(bytes.size(), sha, studio).ok());
    return sha;
  }
  uint64_t LogSize() { return *store_->LogSize(); }
  absl::StatusOr<v1::Certificate> Put(const std::string& id, uint32_t version,
                                      const std::string& entry = "cert") {
    v1::Certificate c;
    c.set_id(id);
    c.set_piece_id("pc_1");
    c.set_version(version);
    return ledger_->PutCertificateAndWait(c, entry);
  }
};

bool Contains(absl::string_view text, absl::string_view part) {
  return text.find(part) != absl::string_view::npos;
}

TEST_F(LedgerTest, VersionsAreNumberedAfterTheirParentAndLogged) {
  ASSERT_TRUE(
      ledger_->CreatePieceAndWait(MakePiece("pc_1", "aurum", "R")).ok());
  EXPECT_EQ(LogSize(), 0u);  // A piece alone logs nothing.
  auto v = MakeVersion("pc_1", 0);
  v.set_number(77);  // Ignored: the ledger numbers versions.
  auto first = ledger_->AppendVersionAndWait(v, "aurum");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->number(), 1u);
  auto second = ledger_->AppendVersionAndWait(MakeVersion("pc_1", 1), "aurum");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->number(), 2u);
  EXPECT_EQ(store_->GetPiece("pc_1")->current_version(), 2u);
  EXPECT_EQ(store_->GetVersion("pc_1", 1)->number(), 1u);
  auto entries = store_->LogEntries(0, 10);
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[1], VersionLogEntry(*second, "aurum"));
  EXPECT_TRUE(Contains((*entries)[0], "\"type\":\"version\"")) << (*entries)[0];
  EXPECT_TRUE(Contains((*entries)[1], "\"version\":2"));
  EXPECT_TRUE(Contains((*entries)[1], "\"parent\":1"));
  EXPECT_TRUE(Contains((*entries)[1], "\"studio_id\":\"aurum\""));
}

TEST_F(LedgerTest, AParentThatIsNotCurrentIsAbortedNamingTheField) {
  ASSERT_TRUE(
      ledger_->CreatePieceAndWait(MakePiece("pc_1", "aurum", "R")).ok());
  ASSERT_TRUE(
      ledger_->AppendVersionAndWait(MakeVersion("pc_1", 0), "aurum").ok());
  ASSERT_TRUE(
      ledger_->AppendVersionAndWait(MakeVersion("pc_1", 1), "aurum").ok());
  for (uint32_t parent : {0u, 1u, 3u}) {
    auto again = MakeVersion("pc_1", parent);
    again.set_note("overwrite attempt");
    auto s = ledger_->AppendVersionAndWait(again, "aurum").status();
    EXPECT_EQ(s.code(), absl::StatusCode::kAborted) << parent;
    EXPECT_TRUE(Contains(s.message(), "version.parent_number")) << s;
    EXPECT_TRUE(Contains(s.message(), "current version 2")) << s;
  }
  EXPECT_EQ(store_->GetPiece("pc_1")->current_version(), 2u);
  EXPECT_TRUE(store_->GetVersion("pc_1", 2)->note().empty());
  EXPECT_EQ(LogSize(), 2u);
  auto missing = ledger_->AppendVersionAndWait(MakeVersion("pc_2", 0), "aurum");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(Contains(missing.status().message(), "piece_id"));
}

TEST_F(LedgerTest, AStudioReferenceIsUniquePerStudio) {
  ASSERT_TRUE(
      ledger_->CreatePieceAndWait(MakePiece("pc_1", "aurum", "R")).ok());
  auto dup = ledger_->CreatePieceAndWait(MakePiece("pc_2", "aurum", "R"));
  EXPECT_EQ(dup.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(Contains(dup.message(), "studio_reference")) << dup;
  EXPECT_TRUE(Contains(dup.message(), "pc_1")) << dup;  // The existing id.
  EXPECT_EQ(store_->GetPiece("pc_2").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(
      ledger_->CreatePieceAndWait(MakePiece("pc_3", "bellini", "R")).ok());
  auto taken = ledger_->CreatePieceAndWait(MakePiece("pc_1", "bellini", "S"));
  EXPECT_EQ(taken.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(Contains(taken.message(), "id")) << taken;
  EXPECT_EQ(store_->GetPiece("pc_1")->studio_id(), "aurum");
  EXPECT_EQ(store_->ListPieces("bellini", "", 10)->pieces.size(), 1u);
}

TEST_F(LedgerTest, AssetsMustBeTheStudiosUploadsWithTheirSizes) {
  ASSERT_TRUE(
      ledger_->CreatePieceAndWait(MakePiece("pc_1", "aurum", "R")).ok());
  const std::string bytes = "solid 18k";
  const auto sha = Upload(bytes, "bellini");
  auto v = MakeVersion("pc_1", 0);
  auto* own = v.add_assets();
  own->set_sha256(crypto::ToHex(Upload("own file", "aurum")));
  own->set_size_bytes(8);
  auto* a = v.add_assets();
  a->set_sha256(crypto::ToHex(sha));
  a->set_size_bytes(bytes.size());
  auto other = ledger_->AppendVersionAndWait(v, "aurum").status();
  EXPECT_EQ(other.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Contains(other.message(), "version.assets[1].sha256")) << other;
  Upload(bytes, "aurum");  // The same content, now aurum's too.
  a->set_size_bytes(bytes.size() + 1);
  auto size = ledger_->AppendVersionAndWait(v, "aurum").status();
  EXPECT_EQ(size.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(size.message(), "version.assets[1].size_bytes")) << size;
  a->set_sha256("not hex");
  auto malformed = ledger_->AppendVersionAndWait(v, "aurum").status();
  EXPECT_EQ(malformed.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(malformed.message(), "version.assets[1].sha256"));
  EXPECT_EQ(LogSize(), 0u);
  EXPECT_FALSE(*store_->IsAssetOfPiece(sha, "pc_1"));
  a->set_sha256(crypto::ToHex(sha));
  a->set_size_bytes(bytes.size());
  ASSERT_TRUE(ledger_->AppendVersionAndWait(v, "aurum").ok());
  EXPECT_TRUE(*store_->IsAssetOfPiece(sha, "pc_1"));
  EXPECT_FALSE(*store_->IsAssetOfPiece(sha, "pc_2"));
}

TEST_F(LedgerTest, APieceWithItsFirstVersionIsAllOrNothing) {
  const std::string bytes = "cad";
  const auto sha = Upload(bytes, "aurum");
  auto first = MakeVersion("pc_1", 0);
  auto* asset = first.add_assets();
  asset->set_sha256(crypto::ToHex(sha));
  asset->set_size_bytes(bytes.size());
  ASSERT_TRUE(
      ledger_->CreatePieceAndWait(MakePiece("pc_1", "aurum", "R-1"), first)
          .ok());
  EXPECT_EQ(store_->GetPiece("pc_1")->current_version(), 1u);
  EXPECT_EQ(store_->GetVersion("pc_1", 1)->assets(0).sha256(),
            crypto::ToHex(sha));
  EXPECT_TRUE(*store_->IsAssetOfPiece(sha, "pc_1"));
  EXPECT_EQ(LogSize(), 1u);

  // A first version the rules refuse leaves no piece, reference or entry.
  auto bad = MakeVersion("pc_2", 0);
  bad.add_assets()->set_sha256(crypto::Sha256::HexOf("never uploaded"));
  auto s = ledger_->CreatePieceAndWait(MakePiece("pc_2", "aurum", "R-2"), bad);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Contains(s.message(), "first_version.assets[0].sha256")) << s;
  auto stale = ledger_->CreatePieceAndWait(MakePiece("pc_2", "aurum", "R-2"),
                                           MakeVersion("pc_2", 1));
  EXPECT_EQ(stale.code(), absl::StatusCode::kAborted);
  EXPECT_TRUE(Contains(stale.message(), "first_version.parent_number"));
  EXPECT_EQ(store_->GetPiece("pc_2").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(LogSize(), 1u);
  EXPECT_TRUE(
      ledger_->CreatePieceAndWait(MakePiece("pc_3", "aurum", "R-2")).ok());
}

TEST_F(LedgerTest, ACertificateIsKeptOncePerVersionWithItsLogIndex) {
  ASSERT_TRUE(
      ledger_->CreatePieceAndWait(MakePiece("pc_1", "aurum", "R")).ok());
  ASSERT_TRUE(
      ledger_->AppendVersionAndWait(MakeVersion("pc_1", 0), "aurum").ok());
  auto a = Put("ct_a", 1, "certificate a");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->id(), "ct_a");
  EXPECT_EQ(a->log_index(), 1u);
  EXPECT_EQ(*store_->LogEntries(1, 1),
            std::vector<std::string>{"certificate a"});
  auto again = Put("ct_b", 1, "certificate b");  // Issued once per version.
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->id(), "ct_a");
  EXPECT_EQ(again->log_index(), 1u);
  EXPECT_EQ(LogSize(), 2u);  // The second put logged nothing.
  auto c = Put("ct_c", 2, "certificate c");
  EXPECT_EQ(c->log_index(), 2u);
  EXPECT_EQ(store_->GetCertificate("ct_c")->version(), 2u);
  EXPECT_EQ(store_->GetCertificate("ct_b").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ((*store_->GetCertificateOf("pc_1", 1))->id(), "ct_a");
  EXPECT_FALSE(store_->GetCertificateOf("pc_1", 3)->has_value());
  auto all = store_->ListCertificates("pc_1");
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[1].id(), "ct_c");
}

TEST_F(LedgerTest, APieceChangeLogsItsEntriesAndTheOwnerPointsAtTheLast) {
  ASSERT_TRUE(
      ledger_->CreatePieceAndWait(MakePiece("pc_1", "aurum", "R")).ok());
  ASSERT_TRUE(
      ledger_->AppendVersionAndWait(MakeVersion("pc_1", 0), "aurum").ok());
  auto piece = ledger_->MutatePieceAndWait(
      "pc_1", [](v1::Piece& piece) -> absl::StatusOr<Ledger::PieceChange> {
        piece.set_status(v1::PIECE_STATUS_STOLEN);
        Ledger::PieceChange change;
        change.log_entries = {"{\"type\":\"status\"}", "{\"type\":\"owner\"}"};
        change.owner.emplace().set_sequence(1);
        change.owner->set_log_index(999);  // Set by the ledger.
        return change;
      });
  ASSERT_TRUE(piece.ok()) << piece.status();
  EXPECT_EQ(piece->status(), v1::PIECE_STATUS_STOLEN);
  EXPECT_EQ(store_->GetPiece("pc_1")->status(), v1::PIECE_STATUS_STOLEN);
  EXPECT_EQ(LogSize(), 3u);
  auto owners = store_->ListOwners("pc_1");
  ASSERT_EQ(owners->size(), 1u);
  EXPECT_EQ((*owners)[0].log_index(), 2u);
  auto entries = store_->LogEntries(1, 2);
  EXPECT_EQ((*entries)[0], "{\"type\":\"status\"}");
  EXPECT_EQ((*entries)[1], "{\"type\":\"owner\"}");
  // A change without an owner adds no owner record.
  ASSERT_TRUE(ledger_
                  ->MutatePieceAndWait(
                      "pc_1",
                      [](v1::Piece& p) -> absl::StatusOr<Ledger::PieceChange> {
                        p.set_title("t");
                        return Ledger::PieceChange{{"{\"type\":\"x\"}"}, {}};
                      })
                  .ok());
  EXPECT_EQ(store_->ListOwners("pc_1")->size(), 1u);
  EXPECT_EQ(LogSize(), 4u);
}

TEST_F(LedgerTest, ARefusedPieceChangeLeavesNothing) {
  ASSERT_TRUE(
      ledger_->CreatePieceAndWait(MakePiece("pc_1", "aurum", "R")).ok());
  ASSERT_TRUE(
      ledger_->AppendVersionAndWait(MakeVersion("pc_1", 0), "aurum").ok());
  auto refused = ledger_->MutatePieceAndWait(
      "pc_1", [](v1::Piece& piece) -> absl::StatusOr<Ledger::PieceChange> {
        piece.set_status(v1::PIECE_STATUS_REVOKED);
        return absl::FailedPreconditionError("action: not allowed");
      });
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(refused.status().message(), "action: not allowed");
  EXPECT_EQ(store_->GetPiece("pc_1")->status(), v1::PIECE_STATUS_UNSPECIFIED);
  EXPECT_EQ(LogSize(), 1u);
  auto missing = ledger_->MutatePieceAndWait(
      "pc_2", [](v1::Piece&) -> absl::StatusOr<Ledger::PieceChange> {
        ADD_FAILURE() << "mutation of a missing piece ran";
        return Ledger::PieceChange{};
      });
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(Contains(missing.status().message(), "piece_id"));
  // The next entry takes the next index: nothing was left pending.
  ASSERT_TRUE(
      ledger_->AppendVersionAndWait(MakeVersion("pc_1", 1), "aurum").ok());
  EXPECT_EQ(LogSize(), 2u);
  EXPECT_TRUE(store_->Scrub()->clean());
}

}  // namespace
}  // namespace loupe::server
