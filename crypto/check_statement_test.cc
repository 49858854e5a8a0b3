// Check statements: signed by a certificate key valid when the check was
// made; their log entry and id derived from the payload alone.
#include "crypto/check_statement.h"

#include <gtest/gtest.h>

#include "crypto/canonical_json.h"
#include "crypto/sha256.h"

namespace loupe::crypto {
namespace {

class CheckStatementTest : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_ = std::make_unique<SigningKey>(*SigningKey::Generate());
    root_.origin = "registry.example/loupe";
    root_.keys.push_back({registry_->public_key(),
                          {kRoleCertificate},
                          absl::InfinitePast(),
                          std::nullopt});
    facts_.piece_id = "pc_1";
    facts_.version = 1;
    facts_.file_sha256 = std::string(64, 'a');
    facts_.twin_asset_sha256 = std::string(64, 'b');
    facts_.purpose = "repair";
    facts_.tolerance_um = 50;
    facts_.pass = true;
    facts_.reasons = {"ok: within 0.05 mm"};
    facts_.max_abs_nm = 40000;
    facts_.coverage_ppm = 998000;
    facts_.checked_by = "bench";
    facts_.at = absl::FromUnixSeconds(1804032000);
  }
  // Signs as the registry's CertificateSigner::SignJson does.
  DsseEnvelope Sign(const SigningKey& key) const {
    auto json = CheckPayloadJson(facts_);
    json["keyid"] = KeyId(key.public_key());
    return SignEnvelope(kCheckPayloadType, *CanonicalJson(json), key);
  }
  std::unique_ptr<SigningKey> registry_;
  TrustRoot root_;
  CheckFacts facts_;
};

TEST_F(CheckStatementTest, AStatementVerifiesAndNamesItsEntryAndId) {
  const auto envelope = Sign(*registry_);
  auto facts = VerifyCheckStatement(envelope, root_);
  ASSERT_TRUE(facts.ok()) << facts.status();
  EXPECT_EQ(facts->piece_id, "pc_1");
  EXPECT_EQ(facts->max_abs_nm, 40000u);
  EXPECT_EQ(facts->coverage_ppm, 998000u);
  EXPECT_EQ(facts->at, facts_.at);
  EXPECT_TRUE(facts->pass);
  const std::string id = CheckId(envelope.payload);
  EXPECT_EQ(id, "ck_" + Sha256::HexOf(envelope.payload).substr(0, 32));
  auto entry = CheckLogEntry(envelope.payload);
  ASSERT_TRUE(entry.ok());
  EXPECT_EQ(*entry, "{\"check_id\":\"" + id +
                        "\",\"pass\":true,\"piece_id\":\"pc_1\",\"purpose\":"
                        "\"repair\",\"statement_sha256\":\"" +
                        Sha256::HexOf(envelope.payload) +
                        "\",\"type\":\"check\",\"version\":1}");
}

TEST_F(CheckStatementTest, ACheckSignedByARetiredKeyIsRefused) {
  // The key was rotated out before the check's time: a thief of the
  // retired key cannot make new checks.
  root_.keys[0].valid_until = facts_.at - absl::Hours(1);
  auto refused = VerifyCheckStatement(Sign(*registry_), root_);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnauthenticated);
  // A check made while it was valid still verifies.
  root_.keys[0].valid_until = facts_.at + absl::Hours(1);
  EXPECT_TRUE(VerifyCheckStatement(Sign(*registry_), root_).ok());
}

TEST_F(CheckStatementTest, ForgedTamperedOrMisnamedStatementsAreRefused) {
  auto stranger = SigningKey::Generate();
  EXPECT_EQ(VerifyCheckStatement(Sign(*stranger), root_).status().code(),
            absl::StatusCode::kUnauthenticated);
  auto envelope = Sign(*registry_);
  envelope.payload.replace(envelope.payload.find("\"pass\":true"), 11,
                           "\"pass\":fals");
  EXPECT_EQ(VerifyCheckStatement(envelope, root_).status().code(),
            absl::StatusCode::kUnauthenticated);
  // A key of another role does not sign checks.
  root_.keys[0].roles = {kRoleCheckpoint};
  EXPECT_FALSE(VerifyCheckStatement(Sign(*registry_), root_).ok());
  root_.keys[0].roles = {kRoleCertificate};
  // Another payload type is not a check.
  auto other = Sign(*registry_);
  other.payload_type = "application/vnd.in-toto+json";
  EXPECT_EQ(VerifyCheckStatement(other, root_).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(CheckLogEntry("{\"piece_id\":\"pc_1\"}").ok());
}

}  // namespace
}  // namespace loupe::crypto
