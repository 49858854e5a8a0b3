#include "crypto/piece_status.h"

#include <gtest/gtest.h>

#include "absl/time/clock.h"

namespace loupe::crypto {
namespace {

class PieceStatusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_ = std::make_unique<SigningKey>(*SigningKey::Generate());
    owner_ = std::make_unique<SigningKey>(*SigningKey::Generate());
    root_.origin = "registry.example/loupe";
    root_.keys.push_back({registry_->public_key(),
                          {kRoleCertificate},
                          absl::InfinitePast(),
                          std::nullopt});
    facts_.piece_id = "pc_1";
    facts_.status = "stolen";
    facts_.status_sequence = 2;
    facts_.reason = "police report 123";
    facts_.changed_by = "insurer";
    facts_.owner = std::string(64, 'a');
    facts_.owner_sequence = 1;
    facts_.as_of = absl::FromUnixSeconds(1790000000);
  }
  std::unique_ptr<SigningKey> registry_, owner_;
  TrustRoot root_;
  PieceStatusFacts facts_;
};

TEST_F(PieceStatusTest, StatementRoundTrips) {
  auto envelope = SignPieceStatus(facts_, *registry_);
  ASSERT_TRUE(envelope.ok());
  auto verified = VerifyPieceStatus(*envelope, root_);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->status, "stolen");
  EXPECT_EQ(verified->reason, "police report 123");
  EXPECT_EQ(verified->as_of, facts_.as_of);
  EXPECT_EQ(verified->owner_sequence, 1u);
}

TEST_F(PieceStatusTest, ForgedOrTamperedStatementsAreRefused) {
  auto forged = SignPieceStatus(facts_, *owner_);
  EXPECT_EQ(VerifyPieceStatus(*forged, root_).status().code(),
            absl::StatusCode::kUnauthenticated);
  auto envelope = SignPieceStatus(facts_, *registry_);
  envelope->payload.replace(envelope->payload.find("stolen"), 6, "active");
  EXPECT_EQ(VerifyPieceStatus(*envelope, root_).status().code(),
            absl::StatusCode::kUnauthenticated);
  // A certificate key rotated out before as_of no longer vouches.
  root_.keys[0].valid_until = facts_.as_of - absl::Hours(1);
  EXPECT_FALSE(
      VerifyPieceStatus(*SignPieceStatus(facts_, *registry_), root_).ok());
}

TEST_F(PieceStatusTest, TransferIsBoundToTheOwnerKeyAndSequence) {
  auto next = SigningKey::Generate();
  OwnerTransfer transfer{"pc_1", next->public_key(), 2};
  DsseEnvelope envelope = SignOwnerTransfer(transfer, *owner_);
  auto verified = VerifyOwnerTransfer(envelope, owner_->public_key());
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->sequence, 2u);
  EXPECT_EQ(verified->new_owner, next->public_key());
  EXPECT_EQ(VerifyOwnerTransfer(envelope, next->public_key()).status().code(),
            absl::StatusCode::kUnauthenticated);
  envelope.payload.replace(envelope.payload.find("\"sequence\":2"), 12,
                           "\"sequence\":3");
  EXPECT_FALSE(VerifyOwnerTransfer(envelope, owner_->public_key()).ok());
}

TEST_F(PieceStatusTest, StatusReportVerifies) {
  DsseEnvelope envelope =
      SignStatusReport({"pc_1", "report_stolen", "taken", 1}, *owner_);
  auto report = VerifyStatusReport(envelope, owner_->public_key());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->action, "report_stolen");
  EXPECT_EQ(report->sequence, 1u);
  EXPECT_FALSE(VerifyStatusReport(envelope, registry_->public_key()).ok());
}

}  // namespace
}  // namespace loupe::crypto
