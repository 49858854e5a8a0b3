// The registry's write rules (ledger.h) on the in-memory engine: version
// numbering and the parent check, studio references, asset ownership and
// sizes, a piece with its first version, certificates, piece changes, and
// what each logs (nothing when refused).
#include "server/registry/ledger.h"

#include <gtest/gtest.h>

#include "crypto/canonical_json.h"
#include "crypto/check_statement.h"
#include "crypto/dsse.h"
#include "crypto/ed25519.h"
#include "crypto/sha256.h"
#include "server/storage/memory/memory_fixture_for_tests.h"

namespace loupe::server {
namespace {

bool Contains(absl::string_view text, absl::string_view part) {
  return text.find(part) != absl::string_view::npos;
}

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
  // Records a signed check of `piece` against `version`, as CheckGeometry
  // with record does (the registry's statement, its id and log entry).
  absl::StatusOr<v1::GeometryCheck> RecordCheck(const std::string& piece,
                                                uint32_t version,
                                                const std::string& purpose,
                                                bool pass) {
    crypto::CheckFacts f;
    f.piece_id = piece;
    f.version = version;
    f.file_sha256 = std::string(64, 'a');
    f.twin_asset_sha256 = std::string(64, 'b');
    f.purpose = purpose;
    f.tolerance_um = 50;
    f.pass = pass;
    f.reasons = {pass ? "ok: within tolerance" : "FAIL: 2% outside"};
    f.max_abs_nm = pass ? 40000 : 90000;
    f.coverage_ppm = 998000;
    f.checked_by = "bench";
    f.at = absl::FromUnixSeconds(1804032000 + (++checks_));
    auto json = crypto::CheckPayloadJson(f);
    json["keyid"] = crypto::KeyId(key_.public_key());
    const std::string payload = *crypto::CanonicalJson(json);
    v1::GeometryCheck check;
    check.set_check_id(crypto::CheckId(payload));
    check.set_piece_id(piece);
    check.set_version(version);
    check.set_purpose(purpose);
    check.set_pass(pass);
    check.set_statement_json(crypto::EnvelopeToJson(
        crypto::SignEnvelope(crypto::kCheckPayloadType, payload, key_)));
    return ledger_->RecordCheckAndWait(check, *crypto::CheckLogEntry(payload));
  }
  // A version of `piece` after `parent` citing `checks`.
  static v1::TwinVersion Citing(const std::string& piece, uint32_t parent,
                                v1::VersionReason reason,
                                std::vector<std::string> checks,
                                const std::string& override_reason = "") {
    auto v = MakeVersion(piece, parent);
    v.set_reason(reason);
    for (const auto& id : checks) {
      auto* e = v.add_evidence();
      e->set_check_id(id);
      e->set_override_reason(override_reason);
    }
    return v;
  }
  // Pieces pc_1 and pc_2 with a version 1 each.
  void TwoPieces() {
    for (const char* id : {"pc_1", "pc_2"}) {
      ASSERT_TRUE(ledger_->CreatePieceAndWait(MakePiece(id, "aurum", id)).ok());
      ASSERT_TRUE(
          ledger_->AppendVersionAndWait(MakeVersion(id, 0), "aurum").ok());
    }
  }
  // Cites and expects a refusal with `code` naming `field`, leaving the
  // piece and the log as they were.
  void ExpectRefused(const v1::TwinVersion& v, absl::StatusCode code,
                     const std::string& field) {
    const uint64_t logged = LogSize();
    const uint32_t current = store_->GetPiece(v.piece_id())->current_version();
    auto s = ledger_->AppendVersionAndWait(v, "aurum").status();
    EXPECT_EQ(s.code(), code) << s;
    EXPECT_TRUE(Contains(s.message(), field)) << s;
    EXPECT_EQ(LogSize(), logged);
    EXPECT_EQ(store_->GetPiece(v.piece_id())->current_version(), current);
  }

  crypto::SigningKey key_ = *crypto::SigningKey::Generate();
  int checks_ = 0;
  absl::StatusOr<v1::Certificate> Put(const std::string& id, uint32_t version,
                                      const std::string& entry = "cert") {
    v1::Certificate c;
    c.set_id(id);
    c.set_piece_id("pc_1");
    c.set_version(version);
    return ledger_->PutCertificateAndWait(c, entry);
  }
};

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

TEST_F(LedgerTest, ARecordedCheckIsLoggedOnceAndCitedByARepair) {
  TwoPieces();
  auto check = RecordCheck("pc_1", 1, "repair", true);
  ASSERT_TRUE(check.ok()) << check.status();
  EXPECT_EQ(check->log_index(), 2u);
  auto entry = (*store_->LogEntries(2, 1))[0];
  EXPECT_TRUE(Contains(entry, "\"type\":\"check\"")) << entry;
  EXPECT_TRUE(Contains(entry, check->check_id())) << entry;
  // Recording the same statement again keeps the first and logs nothing.
  auto again = ledger_->RecordCheckAndWait(*check, "another entry");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->log_index(), 2u);
  EXPECT_EQ(LogSize(), 3u);
  auto unknown = *check;
  unknown.set_piece_id("pc_9");
  unknown.set_check_id("ck_other");
  EXPECT_EQ(ledger_->RecordCheckAndWait(unknown, "x").status().code(),
            absl::StatusCode::kNotFound);

  auto v = ledger_->AppendVersionAndWait(
      Citing("pc_1", 1, v1::VERSION_REASON_REPAIR, {check->check_id()}),
      "aurum");
  ASSERT_TRUE(v.ok()) << v.status();
  ASSERT_EQ(v->evidence_size(), 1);
  const v1::TwinVersion stored = *store_->GetVersion("pc_1", 2);
  const auto& e = stored.evidence(0);
  EXPECT_EQ(e.check_id(), check->check_id());
  EXPECT_TRUE(e.pass());
  EXPECT_EQ(e.purpose(), "repair");
  EXPECT_EQ(e.tolerance_um(), 50u);
  EXPECT_EQ(e.max_abs_nm(), 40000u);
  EXPECT_EQ(e.coverage_ppm(), 998000u);
  EXPECT_EQ(e.checked_version(), 1u);
  EXPECT_EQ(e.log_index(), 2u);
  EXPECT_EQ(e.checked_by(), "bench");
  EXPECT_EQ(e.statement_sha256().size(), 64u);
  auto logged = (*store_->LogEntries(3, 1))[0];
  EXPECT_EQ(logged, VersionLogEntry(*v, "aurum"));
  EXPECT_TRUE(
      Contains(logged, "\"evidence\":[{\"check_id\":\"" + check->check_id()))
      << logged;
}

TEST_F(LedgerTest, EvidenceOfAnotherPieceIsRefused) {
  TwoPieces();
  auto other = RecordCheck("pc_2", 1, "repair", true);  // A replay attempt.
  ASSERT_TRUE(other.ok());
  ExpectRefused(
      Citing("pc_1", 1, v1::VERSION_REASON_REPAIR, {other->check_id()}),
      absl::StatusCode::kInvalidArgument, "version.evidence[0].check_id");
  // Still good for its own piece.
  EXPECT_TRUE(
      ledger_
          ->AppendVersionAndWait(
              Citing("pc_2", 1, v1::VERSION_REASON_REPAIR, {other->check_id()}),
              "aurum")
          .ok());
}

TEST_F(LedgerTest, EvidenceForAnotherPurposeIsRefused) {
  TwoPieces();
  auto resize = RecordCheck("pc_1", 1, "resize", true);
  auto band = RecordCheck("pc_1", 1, "matching-band", true);
  auto repair = RecordCheck("pc_1", 1, "repair", true);
  ExpectRefused(
      Citing("pc_1", 1, v1::VERSION_REASON_REPAIR, {resize->check_id()}),
      absl::StatusCode::kInvalidArgument, "version.evidence[0].check_id");
  ExpectRefused(
      Citing("pc_1", 1, v1::VERSION_REASON_REPAIR, {band->check_id()}),
      absl::StatusCode::kInvalidArgument, "a matching-band check");
  ExpectRefused(
      Citing("pc_1", 1, v1::VERSION_REASON_REFINISH, {repair->check_id()}),
      absl::StatusCode::kInvalidArgument, "takes no check evidence");
  ExpectRefused(Citing("pc_1", 1, v1::VERSION_REASON_RESIZE,
                       {resize->check_id(), repair->check_id()}),
                absl::StatusCode::kInvalidArgument,
                "version.evidence[1].check_id");
}

TEST_F(LedgerTest, AFailedCheckNeedsTheStudiosReasonWhichIsRecorded) {
  TwoPieces();
  auto failed = RecordCheck("pc_1", 1, "repair", false);
  auto passed = RecordCheck("pc_1", 1, "repair", true);
  ExpectRefused(
      Citing("pc_1", 1, v1::VERSION_REASON_REPAIR, {failed->check_id()}),
      absl::StatusCode::kInvalidArgument,
      "version.evidence[0].override_reason");
  ExpectRefused(Citing("pc_1", 1, v1::VERSION_REASON_REPAIR,
                       {passed->check_id()}, "not needed"),
                absl::StatusCode::kInvalidArgument, "only for a failed check");
  auto v = ledger_->AppendVersionAndWait(
      Citing("pc_1", 1, v1::VERSION_REASON_REPAIR, {failed->check_id()},
             "shank rebuilt thicker on purpose"),
      "aurum");
  ASSERT_TRUE(v.ok()) << v.status();
  const v1::TwinVersion stored = *store_->GetVersion("pc_1", 2);
  const auto& e = stored.evidence(0);
  EXPECT_FALSE(e.pass());
  EXPECT_EQ(e.override_reason(), "shank rebuilt thicker on purpose");
  EXPECT_TRUE(Contains((*store_->LogEntries(LogSize() - 1, 1))[0],
                       "\"override_reason\":\"shank rebuilt thicker"));
}

TEST_F(LedgerTest, ACheckAgainstAVersionNoLongerTheParentIsRefused) {
  TwoPieces();
  auto stale = RecordCheck("pc_1", 1, "repair", true);
  ASSERT_TRUE(ledger_->AppendVersionAndWait(MakeVersion("pc_1", 1), "aurum")
                  .ok());  // Version 2 moves the twin on.
  ExpectRefused(
      Citing("pc_1", 2, v1::VERSION_REASON_REPAIR, {stale->check_id()}),
      absl::StatusCode::kFailedPrecondition, "not this version's parent 2");
  auto fresh = RecordCheck("pc_1", 2, "repair", true);
  EXPECT_TRUE(
      ledger_
          ->AppendVersionAndWait(
              Citing("pc_1", 2, v1::VERSION_REASON_REPAIR, {fresh->check_id()}),
              "aurum")
          .ok());
  // Cited once: the parent has moved past it.
  ExpectRefused(
      Citing("pc_1", 3, v1::VERSION_REASON_REPAIR, {fresh->check_id()}),
      absl::StatusCode::kFailedPrecondition, "version.evidence[0].check_id");
}

TEST_F(LedgerTest, UnknownAndTwiceCitedChecksAreRefused) {
  TwoPieces();
  auto check = RecordCheck("pc_1", 1, "repair", true);
  ExpectRefused(Citing("pc_1", 1, v1::VERSION_REASON_REPAIR,
                       {"ck_00000000000000000000000000000000"}),
                absl::StatusCode::kNotFound, "no recorded check");
  ExpectRefused(Citing("pc_1", 1, v1::VERSION_REASON_REPAIR,
                       {check->check_id(), check->check_id()}),
                absl::StatusCode::kInvalidArgument, "cited twice");
}

}  // namespace
}  // namespace loupe::server
