// Who may change a piece's status and owner, against a real server: every
// rule of docs/api.md's status table and each refusal, the theft-laundering
// chain of issue 15, and status reasons that would drive a terminal.
//
// The test server's aurum names "insurer" for all of its pieces; no studio
// names "insurer-b", so it may act only on pieces that name it.
#include <gtest/gtest.h>

#include "crypto/dsse.h"
#include "crypto/ed25519.h"
#include "crypto/piece_status.h"
#include "crypto/sha256.h"
#include "tests/test_server.h"
#include "tests/test_util.h"

namespace loupe::testing {
namespace {

using Piece = absl::StatusOr<v1::Piece>;
constexpr char kClaim[] = "claim 2026-117";

class StatusAuthorityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.EnableSigning();
    ASSERT_OK(server_.Start());
    aurum_ = server_.Client(kAurumToken);
    bellini_ = server_.Client(kBelliniToken);
    insurer_ = server_.Client(kInsurerToken);
    insurer_b_ = server_.Client(kOtherInsurerToken);
    admin_ = server_.Client(kAdminToken);
    anonymous_ = server_.Client("");
  }

  // A new piece of studio `id` naming `insurers`.
  v1::Piece NewPiece(client::RegistryClient& studio, const std::string& id,
                     std::vector<std::string> insurers = {}) {
    auto request = PieceRequest(id, "R-" + std::to_string(++pieces_));
    for (auto& name : insurers) request.add_insurers(name);
    auto piece = studio.CreatePiece(request);
    EXPECT_TRUE(piece.ok()) << piece.status();
    return piece.value_or(v1::Piece());
  }

  static v1::ChangeStatusRequest Request(const v1::Piece& piece,
                                         v1::StatusAction action,
                                         const std::string& reason = kClaim) {
    v1::ChangeStatusRequest r;
    r.set_piece_id(piece.id());
    r.set_action(action);
    r.set_reason(reason);
    return r;
  }
  static Piece Change(client::RegistryClient& c,
                      const v1::ChangeStatusRequest& r) {
    return c.Call<v1::Piece>(r, [&](auto* ctx, auto& rq, auto* rs) {
      return c.stub().ChangeStatus(ctx, rq, rs);
    });
  }
  Piece Change(client::RegistryClient& c, const v1::Piece& piece,
               v1::StatusAction action) {
    return Change(c, Request(piece, action));
  }
  // The owner's signed report of `action` ("report_lost", ...), sent
  // without a token.
  Piece OwnerReport(const v1::Piece& piece, v1::StatusAction action,
                    const std::string& word, const crypto::SigningKey& owner) {
    auto current = anonymous_->GetPiece(piece.id());
    if (!current.ok()) return current.status();
    auto r = Request(piece, action);
    r.set_owner_report_json(crypto::EnvelopeToJson(crypto::SignStatusReport(
        {piece.id(), word, r.reason(), current->status_sequence() + 1},
        owner)));
    return Change(*anonymous_, r);
  }
  Piece SetOwner(client::RegistryClient& c, const v1::Piece& piece,
                 const crypto::SigningKey& owner) {
    v1::SetOwnerRequest r;
    r.set_piece_id(piece.id());
    r.set_owner_public_key(
        crypto::ToHex(owner.public_key().data(), owner.public_key().size()));
    return c.Call<v1::Piece>(r, [&](auto* ctx, auto& rq, auto* rs) {
      return c.stub().SetOwner(ctx, rq, rs);
    });
  }
  // `from` signs the transfer of `piece` to `to`, over the next sequence.
  Piece Transfer(const v1::Piece& piece, const crypto::SigningKey& from,
                 const crypto::SigningKey& to) {
    auto current = anonymous_->GetPiece(piece.id());
    if (!current.ok()) return current.status();
    v1::TransferOwnerRequest r;
    r.set_transfer_json(crypto::EnvelopeToJson(crypto::SignOwnerTransfer(
        {piece.id(), to.public_key(), current->owner_sequence() + 1}, from)));
    return anonymous_->Call<v1::Piece>(r, [&](auto* ctx, auto& rq, auto* rs) {
      return anonymous_->stub().TransferOwner(ctx, rq, rs);
    });
  }
  Piece SetInsurers(client::RegistryClient& c, const v1::Piece& piece,
                    std::vector<std::string> insurers) {
    v1::SetInsurersRequest r;
    r.set_piece_id(piece.id());
    for (auto& name : insurers) r.add_insurers(name);
    return c.Call<v1::Piece>(r, [&](auto* ctx, auto& rq, auto* rs) {
      return c.stub().SetInsurers(ctx, rq, rs);
    });
  }
  v1::PieceStatus StatusOf(const v1::Piece& piece) {
    return anonymous_->GetPiece(piece.id())->status();
  }

  TestServer server_;
  int pieces_ = 0;
  std::unique_ptr<client::RegistryClient> aurum_, bellini_, insurer_,
      insurer_b_, admin_, anonymous_;
};

// Before issue 15 any insurer token could mark any piece stolen or lost and
// clear any report.
TEST_F(StatusAuthorityTest, InsurersNotNamedByThePieceOrItsStudioAreRefused) {
  const v1::Piece aurum = NewPiece(*aurum_, "aurum");
  const v1::Piece bellini = NewPiece(*bellini_, "bellini");
  for (auto action :
       {v1::STATUS_ACTION_REPORT_LOST, v1::STATUS_ACTION_REPORT_STOLEN}) {
    EXPECT_STATUS(Change(*insurer_b_, aurum, action).status(),
                  kPermissionDenied, "insurer insurer-b is not named by piece");
    EXPECT_STATUS(Change(*insurer_, bellini, action).status(),
                  kPermissionDenied, "insurer insurer is not named by piece");
  }
  // Nor may it clear a report (an admin's here).
  ASSERT_TRUE(Change(*admin_, bellini, v1::STATUS_ACTION_REPORT_STOLEN).ok());
  EXPECT_STATUS(Change(*insurer_, bellini, v1::STATUS_ACTION_RECOVER).status(),
                kPermissionDenied, "not named");
  EXPECT_EQ(StatusOf(aurum), v1::PIECE_STATUS_ACTIVE);
  EXPECT_EQ(StatusOf(bellini), v1::PIECE_STATUS_STOLEN);
  // Jewelers and studios are no insurers; a studio's actions are its own.
  EXPECT_STATUS(
      Change(*server_.Client(kBenchToken), aurum, v1::STATUS_ACTION_REPORT_LOST)
          .status(),
      kPermissionDenied, "an insurer the piece or its studio names");
  EXPECT_STATUS(
      Change(*aurum_, aurum, v1::STATUS_ACTION_REPORT_STOLEN).status(),
      kPermissionDenied, "an insurer the piece or its studio names");
  EXPECT_STATUS(Change(*insurer_, aurum, v1::STATUS_ACTION_SUSPEND).status(),
                kPermissionDenied, "the piece's studio (aurum) or an admin");
  EXPECT_STATUS(Change(*bellini_, aurum, v1::STATUS_ACTION_REVOKE).status(),
                kPermissionDenied, "the piece's studio (aurum) or an admin");
}

// Named by the studio (for all its pieces) or by the piece: the insurer
// reports, escalates and clears its own report. The studio names and
// un-names a piece's insurers; only real insurer principals.
TEST_F(StatusAuthorityTest, NamedInsurersReportAndClearTheirOwnReports) {
  const v1::Piece aurum = NewPiece(*aurum_, "aurum");
  auto lost = Change(*insurer_, aurum, v1::STATUS_ACTION_REPORT_LOST);
  ASSERT_TRUE(lost.ok()) << lost.status();
  EXPECT_EQ(lost->status_changed_by(), "insurer:insurer");
  ASSERT_TRUE(Change(*insurer_, aurum, v1::STATUS_ACTION_REPORT_STOLEN).ok());
  ASSERT_TRUE(Change(*insurer_, aurum, v1::STATUS_ACTION_RECOVER).ok());

  const v1::Piece bellini = NewPiece(*bellini_, "bellini", {"insurer-b"});
  EXPECT_EQ(bellini.insurers_size(), 1);
  EXPECT_EQ(anonymous_->GetPiece(bellini.id())->insurers_size(), 0)
      << "who insures a piece is shown only to callers with a token";
  ASSERT_TRUE(
      Change(*insurer_b_, bellini, v1::STATUS_ACTION_REPORT_STOLEN).ok());
  // Only its studio changes the list, and only to insurer principals.
  EXPECT_STATUS(SetInsurers(*aurum_, bellini, {}).status(), kPermissionDenied,
                "belongs to studio bellini");
  EXPECT_STATUS(SetInsurers(*bellini_, bellini, {"bench"}).status(),
                kInvalidArgument, "insurers[0]: no ROLE_INSURER principal");
  EXPECT_STATUS(bellini_
                    ->CreatePiece([] {
                      auto r = PieceRequest("bellini", "R-typo");
                      r.add_insurers("insurer-c");
                      return r;
                    }())
                    .status(),
                kInvalidArgument, "insurers[0]");
  // Un-named, the insurer can no longer clear even its own report.
  auto cleared = SetInsurers(*bellini_, bellini, {});
  ASSERT_TRUE(cleared.ok()) << cleared.status();
  EXPECT_EQ(cleared->insurers_size(), 0);
  EXPECT_STATUS(
      Change(*insurer_b_, bellini, v1::STATUS_ACTION_RECOVER).status(),
      kPermissionDenied, "not named");
  ASSERT_TRUE(SetInsurers(*bellini_, bellini, {"insurer-b"}).ok());
  EXPECT_TRUE(Change(*insurer_b_, bellini, v1::STATUS_ACTION_RECOVER).ok());
}

// A report is cleared (or changed) only by its reporter, the owner or an
// admin: before issue 15 any insurer cleared the owner's theft report.
TEST_F(StatusAuthorityTest, OnlyTheReporterTheOwnerOrAnAdminClearsAReport) {
  const v1::Piece piece = NewPiece(*aurum_, "aurum", {"insurer-b"});
  auto owner = *crypto::SigningKey::Generate();
  ASSERT_TRUE(SetOwner(*aurum_, piece, owner).ok());
  // The owner's theft report: no insurer clears it, the owner does.
  auto stolen = OwnerReport(piece, v1::STATUS_ACTION_REPORT_STOLEN,
                            "report_stolen", owner);
  ASSERT_TRUE(stolen.ok()) << stolen.status();
  EXPECT_EQ(stolen->status_changed_by(), "owner");
  for (auto* insurer : {insurer_.get(), insurer_b_.get()}) {
    EXPECT_STATUS(Change(*insurer, piece, v1::STATUS_ACTION_RECOVER).status(),
                  kPermissionDenied,
                  "reported stolen by owner; only that reporter, the owner or "
                  "an admin");
  }
  EXPECT_STATUS(Change(*aurum_, piece, v1::STATUS_ACTION_RECOVER).status(),
                kPermissionDenied, "an insurer the piece or its studio names");
  EXPECT_EQ(StatusOf(piece), v1::PIECE_STATUS_STOLEN);
  ASSERT_TRUE(
      OwnerReport(piece, v1::STATUS_ACTION_RECOVER, "recover", owner).ok());

  // One insurer's loss report: the other may neither escalate nor clear it;
  // the owner may clear it.
  ASSERT_TRUE(Change(*insurer_, piece, v1::STATUS_ACTION_REPORT_LOST).ok());
  EXPECT_STATUS(
      Change(*insurer_b_, piece, v1::STATUS_ACTION_REPORT_STOLEN).status(),
      kPermissionDenied, "reported lost by insurer:insurer");
  EXPECT_STATUS(Change(*insurer_b_, piece, v1::STATUS_ACTION_RECOVER).status(),
                kPermissionDenied, "reported lost by insurer:insurer");
  EXPECT_EQ(StatusOf(piece), v1::PIECE_STATUS_LOST);
  ASSERT_TRUE(
      OwnerReport(piece, v1::STATUS_ACTION_RECOVER, "recover", owner).ok());

  // The owner's loss report: an admin may clear it.
  ASSERT_TRUE(
      OwnerReport(piece, v1::STATUS_ACTION_REPORT_LOST, "report_lost", owner)
          .ok());
  EXPECT_STATUS(Change(*insurer_, piece, v1::STATUS_ACTION_RECOVER).status(),
                kPermissionDenied, "reported lost by owner");
  auto by_admin = Change(*admin_, piece, v1::STATUS_ACTION_RECOVER);
  ASSERT_TRUE(by_admin.ok()) << by_admin.status();
  EXPECT_EQ(by_admin->status_changed_by(), "admin:admin");
  EXPECT_EQ(by_admin->status(), v1::PIECE_STATUS_ACTIVE);
}

// No owner change of any kind while a piece is lost, stolen or revoked:
// before issue 15 SetOwner went through in all three and a revoked piece
// could be transferred.
TEST_F(StatusAuthorityTest, NoOwnerChangeWhileLostStolenOrRevoked) {
  auto first = *crypto::SigningKey::Generate();
  auto second = *crypto::SigningKey::Generate();
  const std::pair<v1::StatusAction, const char*> cases[] = {
      {v1::STATUS_ACTION_REPORT_LOST, "the piece is reported lost"},
      {v1::STATUS_ACTION_REPORT_STOLEN, "the piece is reported stolen"},
      {v1::STATUS_ACTION_REVOKE, "the piece is revoked"},
  };
  for (const auto& [action, state] : cases) {
    SCOPED_TRACE(state);
    auto& by = action == v1::STATUS_ACTION_REVOKE ? *aurum_ : *insurer_;
    const v1::Piece unowned = NewPiece(*aurum_, "aurum");
    ASSERT_TRUE(Change(by, unowned, action).ok());
    EXPECT_STATUS(SetOwner(*aurum_, unowned, first).status(),
                  kFailedPrecondition, std::string("piece_id: ") + state);
    const v1::Piece owned = NewPiece(*aurum_, "aurum");
    ASSERT_TRUE(SetOwner(*aurum_, owned, first).ok());
    ASSERT_TRUE(Change(by, owned, action).ok());
    EXPECT_STATUS(Transfer(owned, first, second).status(), kFailedPrecondition,
                  std::string("transfer_json: ") + state);
    EXPECT_EQ(anonymous_->GetPiece(unowned.id())->owner_sequence(), 0u);
    EXPECT_EQ(anonymous_->GetPiece(owned.id())->owner_sequence(), 1u);
  }
  // Recovered, the owner may change again.
  const v1::Piece piece = NewPiece(*aurum_, "aurum");
  ASSERT_TRUE(Change(*insurer_, piece, v1::STATUS_ACTION_REPORT_STOLEN).ok());
  ASSERT_TRUE(Change(*insurer_, piece, v1::STATUS_ACTION_RECOVER).ok());
  ASSERT_TRUE(SetOwner(*aurum_, piece, first).ok());
  EXPECT_TRUE(Transfer(piece, first, second).ok());
}

// Issue 15's chain: a stolen piece given an owner by SetOwner, whose signed
// "recovered" then cleared the report so that a transfer went through. The
// first step is refused, so the rest has nothing to stand on.
TEST_F(StatusAuthorityTest, TheftLaunderingChainIsRefusedAtItsFirstStep) {
  const v1::Piece piece = NewPiece(*aurum_, "aurum");
  ASSERT_TRUE(Change(*insurer_, piece, v1::STATUS_ACTION_REPORT_STOLEN).ok());
  auto fence = *crypto::SigningKey::Generate();
  auto buyer = *crypto::SigningKey::Generate();
  EXPECT_STATUS(SetOwner(*aurum_, piece, fence).status(), kFailedPrecondition,
                "reported stolen");
  EXPECT_STATUS(
      OwnerReport(piece, v1::STATUS_ACTION_RECOVER, "recover", fence).status(),
      kFailedPrecondition, "no owner yet");
  EXPECT_STATUS(Transfer(piece, fence, buyer).status(), kFailedPrecondition,
                "reported stolen");
  auto after = anonymous_->GetPiece(piece.id());
  EXPECT_EQ(after->status(), v1::PIECE_STATUS_STOLEN);
  EXPECT_TRUE(after->owner_public_key().empty());
}

// A reason with terminal controls (ANSI escapes, carriage returns, C1 CSI,
// bidirectional overrides) could rewrite `loupe verify`'s verdict on the
// buyer's screen: refused, naming the field, from a token or an owner.
TEST_F(StatusAuthorityTest, ReasonsWithControlCharactersAreRefused) {
  const v1::Piece piece = NewPiece(*aurum_, "aurum");
  for (const std::string& reason : std::vector<std::string>{
           "found\x1b[2K\rVALID", "line\nbreak", "tab\there",
           "csi \xc2\x9b"
           "2J",
           "rlo \xe2\x80\xae"
           "dilav",
           std::string("nul\0x", 5), "del\x7f"}) {
    EXPECT_STATUS(
        Change(*insurer_, Request(piece, v1::STATUS_ACTION_REPORT_LOST, reason))
            .status(),
        kInvalidArgument, "reason: contains a control character");
  }
  auto owner = *crypto::SigningKey::Generate();
  ASSERT_TRUE(SetOwner(*aurum_, piece, owner).ok());
  auto r = Request(piece, v1::STATUS_ACTION_REPORT_STOLEN, "x\x1b]0;pwned\x07");
  r.set_owner_report_json(crypto::EnvelopeToJson(crypto::SignStatusReport(
      {piece.id(), "report_stolen", r.reason(), 1}, owner)));
  EXPECT_STATUS(Change(*anonymous_, r).status(), kInvalidArgument,
                "reason: contains a control character");
  EXPECT_EQ(StatusOf(piece), v1::PIECE_STATUS_ACTIVE);
  // Any other text is fine.
  auto ok = Change(*insurer_, Request(piece, v1::STATUS_ACTION_REPORT_LOST,
                                      "perdu à Zürich \xf0\x9f\x92\x8d"));
  ASSERT_TRUE(ok.ok()) << ok.status();
}

}  // namespace
}  // namespace loupe::testing
