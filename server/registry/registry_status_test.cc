// Piece status and owners (registry_status.cc) through server::Registry on
// the in-memory engine: the transition table, who may report, the owner's
// signed reports, what each change logs, and no owner change while a piece
// is lost, stolen or revoked. tests/status_authority_test.cc checks the
// same rules against a running server.
#include <gtest/gtest.h>

#include <future>

#include "crypto/dsse.h"
#include "crypto/ed25519.h"
#include "crypto/piece_status.h"
#include "crypto/sha256.h"
#include "server/app/config.h"
#include "server/registry/registry.h"
#include "server/storage/memory/memory_fixture_for_tests.h"

namespace loupe::server {
namespace {

using Result = absl::StatusOr<v1::Piece>;
using enum v1::StatusAction;

const Principal kAurum{"studio-aurum", v1::ROLE_STUDIO, "aurum"};
const Principal kBellini{"studio-bellini", v1::ROLE_STUDIO, "bellini"};
const Principal kInsurer{"insurer", v1::ROLE_INSURER, ""};
const Principal kOtherInsurer{"insurer-b", v1::ROLE_INSURER, ""};
const Principal kAdmin{"ops", v1::ROLE_ADMIN, ""};
const Principal kAnonymous{};

class RegistryStatusTest : public storage::MemoryStoreFixture {
 protected:
  void SetUp() override {
    MemoryStoreFixture::SetUp();
    std::string text;
    for (const auto& [p, extra] :
         std::vector<std::pair<Principal, std::string>>{
             {kAurum, "studio_id: 'aurum' insurers: 'insurer'"},
             {kBellini, "studio_id: 'bellini'"},
             {kInsurer, ""},
             {kOtherInsurer, ""},
             {kAdmin, ""}}) {
      text += "principals { id: '" + p.id + "' role: " + v1::Role_Name(p.role) +
              " token_sha256: '" + crypto::Sha256::HexOf(p.id) + "' " + extra +
              " } ";
    }
    auto config = ParseConfig(text);
    ASSERT_TRUE(config.ok()) << config.status();
    auto policy = AccessPolicy::FromConfig(*config);
    ASSERT_TRUE(policy.ok()) << policy.status();
    policy_ = *std::move(policy);
    registry_ = std::make_unique<Registry>(store_.get(), policy_.get(),
                                           v1::LimitsConfig());
  }

  // Runs a callback-style Registry write and waits for it.
  template <typename Call>
  static Result Wait(Call call) {
    std::promise<Result> result;
    call([&](Result r) { result.set_value(std::move(r)); });
    return result.get_future().get();
  }
  v1::Piece NewPiece(const Principal& studio,
                     std::vector<std::string> insurers = {}) {
    v1::CreatePieceRequest r;
    r.set_studio_id(studio.studio_id);
    r.set_studio_reference("R-" + std::to_string(++pieces_));
    r.set_kind(v1::PIECE_KIND_RING);
    for (auto& name : insurers) r.add_insurers(name);
    auto piece =
        Wait([&](auto done) { registry_->CreatePiece(studio, r, done); });
    EXPECT_TRUE(piece.ok()) << piece.status();
    return piece.value_or(v1::Piece());
  }
  Result Change(const Principal& who, const v1::Piece& piece,
                v1::StatusAction action, const std::string& report = "") {
    v1::ChangeStatusRequest r;
    r.set_piece_id(piece.id());
    r.set_action(action);
    r.set_reason("claim 2026-117");
    r.set_owner_report_json(report);
    return Wait([&](auto done) { registry_->ChangeStatus(who, r, done); });
  }
  // The owner's signed report of `word` over the piece's next sequence.
  Result OwnerReport(const v1::Piece& piece, v1::StatusAction action,
                     const std::string& word, const crypto::SigningKey& owner,
                     int sequence_offset = 1) {
    const auto current = store_->GetPiece(piece.id());
    const uint32_t sequence = current->status_sequence() + sequence_offset;
    return Change(kAnonymous, piece, action,
                  crypto::EnvelopeToJson(crypto::SignStatusReport(
                      {piece.id(), word, "claim 2026-117", sequence}, owner)));
  }
  Result SetOwner(const Principal& who, const v1::Piece& piece,
                  const crypto::SigningKey& owner) {
    v1::SetOwnerRequest r;
    r.set_piece_id(piece.id());
    r.set_owner_public_key(
        crypto::ToHex(owner.public_key().data(), owner.public_key().size()));
    return Wait([&](auto done) { registry_->SetOwner(who, r, done); });
  }
  Result Transfer(const v1::Piece& piece, const crypto::SigningKey& from,
                  const crypto::SigningKey& to) {
    const auto current = store_->GetPiece(piece.id());
    v1::TransferOwnerRequest r;
    r.set_transfer_json(crypto::EnvelopeToJson(crypto::SignOwnerTransfer(
        {piece.id(), to.public_key(), current->owner_sequence() + 1}, from)));
    return Wait(
        [&](auto done) { registry_->TransferOwner(kAnonymous, r, done); });
  }
  v1::PieceStatus StatusOf(const v1::Piece& piece) {
    return store_->GetPiece(piece.id())->status();
  }
  uint64_t LogSize() { return *store_->LogSize(); }

  std::unique_ptr<AccessPolicy> policy_;
  std::unique_ptr<Registry> registry_;
  int pieces_ = 0;
};

void ExpectRefused(const Result& r, absl::StatusCode code,
                   std::string_view text) {
  ASSERT_FALSE(r.ok()) << "expected " << text;
  EXPECT_EQ(r.status().code(), code) << r.status();
  EXPECT_NE(std::string(r.status().message()).find(text), std::string::npos)
      << r.status();
}

TEST_F(RegistryStatusTest, StatusesFollowTheTransitionTable) {
  using enum v1::PieceStatus;
  const v1::Piece piece = NewPiece(kAurum);
  EXPECT_EQ(StatusOf(piece), PIECE_STATUS_ACTIVE);
  struct Step {
    const Principal* who;
    v1::StatusAction action;
    v1::PieceStatus after;  // UNSPECIFIED: refused.
  };
  const Step steps[] = {
      {&kAurum, STATUS_ACTION_UNSUSPEND, PIECE_STATUS_UNSPECIFIED},
      {&kInsurer, STATUS_ACTION_RECOVER, PIECE_STATUS_UNSPECIFIED},
      {&kAurum, STATUS_ACTION_SUSPEND, PIECE_STATUS_SUSPENDED},
      {&kInsurer, STATUS_ACTION_REPORT_LOST, PIECE_STATUS_UNSPECIFIED},
      {&kAurum, STATUS_ACTION_UNSUSPEND, PIECE_STATUS_ACTIVE},
      {&kInsurer, STATUS_ACTION_REPORT_LOST, PIECE_STATUS_LOST},
      {&kInsurer, STATUS_ACTION_REPORT_STOLEN, PIECE_STATUS_STOLEN},
      {&kInsurer, STATUS_ACTION_REPORT_LOST, PIECE_STATUS_UNSPECIFIED},
      {&kInsurer, STATUS_ACTION_RECOVER, PIECE_STATUS_ACTIVE},
      {&kAurum, STATUS_ACTION_REVOKE, PIECE_STATUS_REVOKED},
      {&kAdmin, STATUS_ACTION_UNSUSPEND, PIECE_STATUS_UNSPECIFIED},
      {&kAdmin, STATUS_ACTION_RECOVER, PIECE_STATUS_UNSPECIFIED},
  };
  uint32_t sequence = 0;
  for (const auto& step : steps) {
    SCOPED_TRACE(v1::StatusAction_Name(step.action));
    const v1::PieceStatus before = StatusOf(piece);
    const uint64_t logged = LogSize();
    auto r = Change(*step.who, piece, step.action);
    if (step.after == PIECE_STATUS_UNSPECIFIED) {
      ExpectRefused(r, absl::StatusCode::kFailedPrecondition, "action: cannot");
      EXPECT_EQ(StatusOf(piece), before);
      EXPECT_EQ(LogSize(), logged);  // A refused change logs nothing.
      continue;
    }
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status(), step.after);
    EXPECT_EQ(r->status_sequence(), ++sequence);
    EXPECT_EQ(r->status_reason(), "claim 2026-117");
    EXPECT_EQ(StatusOf(piece), step.after);
    ASSERT_EQ(LogSize(), logged + 1);
    const std::string entry = store_->LogEntries(logged, 1)->front();
    EXPECT_NE(entry.find("\"type\":\"status\""), std::string::npos) << entry;
    EXPECT_NE(entry.find("\"status\":\"" + PieceStatusWord(step.after) + "\""),
              std::string::npos)
        << entry;
  }
}

TEST_F(RegistryStatusTest, OnlyTheStudioOrAnAdminSuspendsAndRevokes) {
  const v1::Piece piece = NewPiece(kAurum);
  for (const Principal* who : {&kBellini, &kInsurer}) {
    ExpectRefused(Change(*who, piece, STATUS_ACTION_SUSPEND),
                  absl::StatusCode::kPermissionDenied, "action: suspend");
  }
  ExpectRefused(Change(kAnonymous, piece, STATUS_ACTION_REVOKE),
                absl::StatusCode::kUnauthenticated, "authorization");
  auto by_admin = Change(kAdmin, piece, STATUS_ACTION_SUSPEND);
  ASSERT_TRUE(by_admin.ok()) << by_admin.status();
  EXPECT_EQ(by_admin->status_changed_by(), "admin:ops");
  auto by_studio = Change(kAurum, piece, STATUS_ACTION_UNSUSPEND);
  EXPECT_EQ(by_studio->status_changed_by(), "studio:aurum");
}

TEST_F(RegistryStatusTest, WhoMayReportLostOrStolen) {
  const v1::Piece aurum = NewPiece(kAurum);
  const v1::Piece bellini = NewPiece(kBellini);
  const v1::Piece naming_b = NewPiece(kBellini, {"insurer-b"});
  // The studio itself does not report its piece stolen: its insurer does.
  ExpectRefused(Change(kAurum, aurum, STATUS_ACTION_REPORT_STOLEN),
                absl::StatusCode::kPermissionDenied, "report_stolen");
  // An insurer neither the piece nor its studio names may not.
  ExpectRefused(Change(kInsurer, bellini, STATUS_ACTION_REPORT_LOST),
                absl::StatusCode::kPermissionDenied, "is not named by piece");
  ExpectRefused(Change(kOtherInsurer, aurum, STATUS_ACTION_REPORT_LOST),
                absl::StatusCode::kPermissionDenied, "is not named by piece");
  // Named by the studio's configuration, or by the piece.
  auto lost = Change(kInsurer, aurum, STATUS_ACTION_REPORT_LOST);
  ASSERT_TRUE(lost.ok()) << lost.status();
  EXPECT_EQ(lost->status_changed_by(), "insurer:insurer");
  ASSERT_TRUE(
      Change(kOtherInsurer, naming_b, STATUS_ACTION_REPORT_STOLEN).ok());
  // An open report is its reporter's (the owner's, an admin's) to clear.
  const v1::Piece both = NewPiece(kAurum, {"insurer-b"});
  ASSERT_TRUE(Change(kInsurer, both, STATUS_ACTION_REPORT_LOST).ok());
  ExpectRefused(Change(kOtherInsurer, both, STATUS_ACTION_RECOVER),
                absl::StatusCode::kPermissionDenied, "only that reporter");
  ExpectRefused(Change(kOtherInsurer, both, STATUS_ACTION_REPORT_STOLEN),
                absl::StatusCode::kPermissionDenied, "only that reporter");
  EXPECT_EQ(StatusOf(both), v1::PIECE_STATUS_LOST);
  ASSERT_TRUE(Change(kAdmin, both, STATUS_ACTION_RECOVER).ok());
  EXPECT_EQ(StatusOf(both), v1::PIECE_STATUS_ACTIVE);
}

TEST_F(RegistryStatusTest, TheOwnersSignedReportIsCheckedAndNotReplayable) {
  const v1::Piece piece = NewPiece(kAurum);
  auto owner = *crypto::SigningKey::Generate();
  auto stranger = *crypto::SigningKey::Generate();
  ExpectRefused(
      OwnerReport(piece, STATUS_ACTION_REPORT_STOLEN, "report_stolen", owner),
      absl::StatusCode::kFailedPrecondition, "no owner yet");
  ASSERT_TRUE(SetOwner(kAurum, piece, owner).ok());
  ExpectRefused(OwnerReport(piece, STATUS_ACTION_REPORT_STOLEN, "report_stolen",
                            stranger),
                absl::StatusCode::kUnauthenticated, "");
  ExpectRefused(
      OwnerReport(piece, STATUS_ACTION_REPORT_STOLEN, "report_lost", owner),
      absl::StatusCode::kInvalidArgument, "another piece, action or reason");
  ExpectRefused(OwnerReport(piece, STATUS_ACTION_REPORT_STOLEN, "report_stolen",
                            owner, /*sequence_offset=*/0),
                absl::StatusCode::kFailedPrecondition, "replayed or stale");
  auto stolen =
      OwnerReport(piece, STATUS_ACTION_REPORT_STOLEN, "report_stolen", owner);
  ASSERT_TRUE(stolen.ok()) << stolen.status();
  EXPECT_EQ(stolen->status_changed_by(), "owner");
  // An owner's report does not stand in for the studio's actions.
  ExpectRefused(OwnerReport(piece, STATUS_ACTION_REVOKE, "revoke", owner),
                absl::StatusCode::kUnauthenticated, "authorization");
  ASSERT_TRUE(OwnerReport(piece, STATUS_ACTION_RECOVER, "recover", owner).ok());
  EXPECT_EQ(StatusOf(piece), v1::PIECE_STATUS_ACTIVE);
}

TEST_F(RegistryStatusTest, NoOwnerChangeWhileLostStolenOrRevoked) {
  auto first = *crypto::SigningKey::Generate();
  auto second = *crypto::SigningKey::Generate();
  const std::pair<v1::StatusAction, const char*> cases[] = {
      {STATUS_ACTION_REPORT_LOST, "the piece is reported lost"},
      {STATUS_ACTION_REPORT_STOLEN, "the piece is reported stolen"},
      {STATUS_ACTION_REVOKE, "the piece is revoked"},
  };
  for (const auto& [action, state] : cases) {
    SCOPED_TRACE(state);
    const Principal& by = action == STATUS_ACTION_REVOKE ? kAurum : kInsurer;
    const v1::Piece unowned = NewPiece(kAurum);
    ASSERT_TRUE(Change(by, unowned, action).ok());
    const uint64_t logged = LogSize();
    ExpectRefused(SetOwner(kAurum, unowned, first),
                  absl::StatusCode::kFailedPrecondition,
                  std::string("piece_id: ") + state);
    const v1::Piece owned = NewPiece(kAurum);
    ASSERT_TRUE(SetOwner(kAurum, owned, first).ok());
    ASSERT_TRUE(Change(by, owned, action).ok());
    ExpectRefused(Transfer(owned, first, second),
                  absl::StatusCode::kFailedPrecondition,
                  std::string("transfer_json: ") + state);
    EXPECT_EQ(store_->GetPiece(unowned.id())->owner_sequence(), 0u);
    EXPECT_EQ(store_->GetPiece(owned.id())->owner_sequence(), 1u);
    EXPECT_EQ(store_->ListOwners(owned.id())->size(), 1u);
    EXPECT_EQ(LogSize(), logged + 2);  // The SetOwner and the status only.
  }
  // Recovered, the owner may change again; each change is an owner record
  // pointing at its log entry.
  const v1::Piece piece = NewPiece(kAurum);
  ASSERT_TRUE(Change(kInsurer, piece, STATUS_ACTION_REPORT_STOLEN).ok());
  ASSERT_TRUE(Change(kInsurer, piece, STATUS_ACTION_RECOVER).ok());
  ASSERT_TRUE(SetOwner(kAurum, piece, first).ok());
  ExpectRefused(SetOwner(kAurum, piece, second),
                absl::StatusCode::kFailedPrecondition, "already has an owner");
  auto moved = Transfer(piece, first, second);
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_EQ(moved->owner_sequence(), 2u);
  auto owners = store_->ListOwners(piece.id());
  ASSERT_EQ(owners->size(), 2u);
  EXPECT_EQ((*owners)[1].set_by(), "owner-signature");
  const std::string entry =
      store_->LogEntries((*owners)[1].log_index(), 1)->front();
  EXPECT_NE(entry.find("\"type\":\"owner\""), std::string::npos) << entry;
  EXPECT_NE(entry.find("\"sequence\":2"), std::string::npos) << entry;
  // The old owner's signature no longer moves it.
  ExpectRefused(Transfer(piece, first, first),
                absl::StatusCode::kUnauthenticated, "");
}

TEST_F(RegistryStatusTest, OnlyThePiecesStudioSetsItsFirstOwner) {
  const v1::Piece piece = NewPiece(kAurum);
  auto owner = *crypto::SigningKey::Generate();
  ExpectRefused(SetOwner(kBellini, piece, owner),
                absl::StatusCode::kPermissionDenied, "");
  ExpectRefused(SetOwner(kInsurer, piece, owner),
                absl::StatusCode::kPermissionDenied, "");
  EXPECT_EQ(store_->GetPiece(piece.id())->owner_sequence(), 0u);
  EXPECT_EQ(LogSize(), 0u);
}

}  // namespace
}  // namespace loupe::server
