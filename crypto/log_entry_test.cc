#include "crypto/log_entry.h"

#include <gtest/gtest.h>

#include "absl/time/clock.h"
#include "crypto/bundle.h"
#include "crypto/cosignature.h"
#include "crypto/sha256.h"

namespace loupe::crypto {
namespace {

constexpr char kOrigin[] = "registry.example/loupe";

struct Log {
  std::vector<Hash> leaves;
  std::vector<std::string> entries;
};

class LogEntryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_ = std::make_unique<SigningKey>(*SigningKey::Generate());
    root_.origin = kOrigin;
    root_.keys.push_back({key_->public_key(),
                          {kRoleCheckpoint},
                          absl::InfinitePast(),
                          std::nullopt});
    for (int i = 0; i < 7; ++i) {
      entries_.push_back(CertificateLogEntry(Payload(i), "pc_x", i + 1));
      leaves_.push_back(LeafHash(entries_.back()));
    }
  }
  static std::string Payload(int i) { return "statement " + std::to_string(i); }

  LogProof ProofOf(uint64_t index, const SigningKey& signer) {
    LogProof proof;
    proof.index = index;
    proof.tree_size = leaves_.size();
    proof.inclusion = *InclusionProof(leaves_, index, leaves_.size());
    proof.checkpoint = SignCheckpoint(
        {kOrigin, leaves_.size(), SubtreeRoot(leaves_, 0, leaves_.size())},
        kOrigin, signer);
    return proof;
  }

  std::unique_ptr<SigningKey> key_;
  TrustRoot root_;
  std::vector<std::string> entries_;
  std::vector<Hash> leaves_;
};

TEST_F(LogEntryTest, CertificateEntryIsCanonicalAndNamesTheStatement) {
  const std::string entry = CertificateLogEntry("payload", "pc_abc", 2);
  EXPECT_EQ(entry, "{\"certificate_id\":\"" + CertificateId("payload") +
                       "\",\"piece_id\":\"pc_abc\",\"statement_sha256\":\"" +
                       Sha256::HexOf("payload") +
                       "\",\"type\":\"certificate\",\"version\":2}");
  EXPECT_EQ(CertificateId("payload").size(), 35u);
}

TEST_F(LogEntryTest, InclusionVerifiesForEveryIndex) {
  for (uint64_t i = 0; i < entries_.size(); ++i) {
    auto checkpoint =
        VerifyLogInclusion(entries_[i], ProofOf(i, *key_), root_, absl::Now());
    ASSERT_TRUE(checkpoint.ok()) << i << ": " << checkpoint.status();
    EXPECT_EQ(checkpoint->size, entries_.size());
  }
}

TEST_F(LogEntryTest, WrongProofHashWrongEntryAndForeignKeyAreRefused) {
  LogProof proof = ProofOf(3, *key_);
  proof.inclusion[0][5] ^= 1;
  auto s = VerifyLogInclusion(entries_[3], proof, root_, absl::Now()).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(s.message().find("inclusion_proof"), std::string::npos) << s;

  EXPECT_FALSE(
      VerifyLogInclusion(entries_[4], ProofOf(3, *key_), root_, absl::Now())
          .ok());

  auto other = SigningKey::Generate();
  s = VerifyLogInclusion(entries_[3], ProofOf(3, *other), root_, absl::Now())
          .status();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(s.message().find("checkpoint"), std::string::npos) << s;

  proof = ProofOf(3, *key_);
  proof.tree_size = 6;
  EXPECT_FALSE(VerifyLogInclusion(entries_[3], proof, root_, absl::Now()).ok());
}

// Issue 15 item 1: a checkpoint carries no time, so only a key whose
// checkpoint role is valid now vouches for a tree; a retired key's thief
// cannot sign a history of their own.
TEST_F(LogEntryTest, RetiredCheckpointKeyNoLongerVouches) {
  const absl::Time retired_at = absl::FromUnixSeconds(1'700'000'000);
  root_.keys[0].valid_until = retired_at;
  auto current = SigningKey::Generate();
  root_.keys.push_back(
      {current->public_key(), {kRoleCheckpoint}, retired_at, std::nullopt});

  auto before = VerifyLogInclusion(entries_[3], ProofOf(3, *key_), root_,
                                   retired_at - absl::Seconds(1));
  EXPECT_TRUE(before.ok()) << before.status();
  auto after = VerifyLogInclusion(entries_[3], ProofOf(3, *key_), root_,
                                  retired_at + absl::Hours(1));
  EXPECT_EQ(after.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(after.status().message().find("no longer trusted"),
            std::string::npos)
      << after.status();
  // The same tree vouched for by the current key verifies.
  auto refreshed = VerifyLogInclusion(entries_[3], ProofOf(3, *current), root_,
                                      retired_at + absl::Hours(1));
  EXPECT_TRUE(refreshed.ok()) << refreshed.status();
  // A key that is not yet valid does not vouch either.
  EXPECT_FALSE(VerifyLogInclusion(entries_[3], ProofOf(3, *current), root_,
                                  retired_at - absl::Seconds(1))
                   .ok());
}

// A retired key's checkpoint still vouches when the root's witnesses
// cosigned it while the key was valid; a cosignature dated after its end
// (what a thief could get for a new tree) does not count.
TEST_F(LogEntryTest, WitnessesVouchForARetiredKeysCheckpointFromItsTime) {
  const absl::Time retired_at = absl::FromUnixSeconds(1'700'000'000);
  root_.keys[0].valid_until = retired_at;
  auto witness = SigningKey::Generate();
  root_.witnesses = {{"witness.example", witness->public_key()}};
  root_.witness_threshold = 1;
  auto cosigned = [&](absl::Time when) {
    LogProof proof = ProofOf(3, *key_);
    const std::string body =
        proof.checkpoint.substr(0, proof.checkpoint.find("\n\n") + 1);
    proof.checkpoint +=
        *CosignCheckpoint(body, "witness.example", *witness, when);
    return proof;
  };
  const absl::Time later = retired_at + absl::Hours(24 * 30);
  auto seen = VerifyLogInclusion(
      entries_[3], cosigned(retired_at - absl::Hours(1)), root_, later);
  EXPECT_TRUE(seen.ok()) << seen.status();
  auto late = VerifyLogInclusion(
      entries_[3], cosigned(retired_at + absl::Hours(1)), root_, later);
  EXPECT_EQ(late.status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(LogEntryTest, ProofRoundTripsThroughTheBundle) {
  Bundle bundle;
  bundle.certificate = SignEnvelope("t", "p", *key_);
  bundle.log = ProofOf(2, *key_);
  auto parsed = ParseBundle(EncodeBundle(bundle));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_TRUE(parsed->log.has_value());
  EXPECT_EQ(parsed->log->index, 2u);
  EXPECT_EQ(parsed->log->inclusion, bundle.log->inclusion);
  EXPECT_EQ(parsed->log->checkpoint, bundle.log->checkpoint);
  EXPECT_FALSE(parsed->status.has_value());

  auto json = LogProofToJson(*bundle.log);
  json["inclusion_proof"][0] = "bm90IGEgaGFzaA==";
  auto bad = LogProofFromJson(json, "bundle.log");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("bundle.log.inclusion_proof[0]"),
            std::string::npos);
}

}  // namespace
}  // namespace loupe::crypto
