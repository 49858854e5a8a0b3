#include "crypto/certificate.h"

#include <gtest/gtest.h>

#include "crypto/sha256.h"

namespace loupe::crypto {
namespace {

absl::Time Day(int d) {
  return absl::FromCivil(absl::CivilDay(2026, 1, 1), absl::UTCTimeZone()) +
         absl::Hours(24 * d);
}

class CertificateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 3; ++i) keys_.push_back(*SigningKey::Generate());
    // Key 1 issued certificates until day 100, key 2 from then on.
    root_ = TrustRoot{
        "registry.example/loupe",
        1,
        1,
        {RootKey{keys_[0].public_key(), {kRoleRoot}, Day(0), std::nullopt},
         RootKey{keys_[1].public_key(), {kRoleCertificate}, Day(0), Day(100)},
         RootKey{keys_[2].public_key(),
                 {kRoleCertificate},
                 Day(100),
                 std::nullopt}}};
  }

  Statement Facts() {
    return Statement{{{"ring.stl", Sha256::HexOf("cad")},
                      {"scan.ply", Sha256::HexOf("scan")}},
                     kCertificatePredicateType,
                     {{"piece_id", "pc_x"}, {"version", 1}}};
  }

  std::vector<SigningKey> keys_;
  TrustRoot root_;
};

TEST_F(CertificateTest, IssuedWhileTheKeyWasValidVerifies) {
  auto envelope = SignCertificate(Facts(), Day(50), keys_[1]);
  ASSERT_TRUE(envelope.ok()) << envelope.status();
  auto verified = VerifyCertificate(*envelope, root_);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->issued_at, Day(50));
  EXPECT_EQ(verified->keyid, KeyId(keys_[1].public_key()));
  EXPECT_EQ(verified->statement.predicate["piece_id"], "pc_x");
}

TEST_F(CertificateTest, RotatedOutKeyRefusedAfterItsValidity) {
  auto late = SignCertificate(Facts(), Day(101), keys_[1]);
  auto s = VerifyCertificate(*late, root_).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(s.message().find("was not valid"), std::string::npos) << s;
  auto early = SignCertificate(Facts(), Day(99), keys_[2]);
  EXPECT_EQ(VerifyCertificate(*early, root_).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(
      VerifyCertificate(*SignCertificate(Facts(), Day(101), keys_[2]), root_)
          .ok());
}

TEST_F(CertificateTest, KeysOutsideTheRootOrRoleAreRefused) {
  auto stranger = SigningKey::Generate();
  auto by_stranger = SignCertificate(Facts(), Day(50), *stranger);
  EXPECT_EQ(VerifyCertificate(*by_stranger, root_).status().code(),
            absl::StatusCode::kUnauthenticated);
  // The root key has no certificate role.
  auto by_root_key = SignCertificate(Facts(), Day(50), keys_[0]);
  EXPECT_EQ(VerifyCertificate(*by_root_key, root_).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(CertificateTest, FilesMatchSubjectsAndMissingOnesAreReported) {
  const Statement facts = Facts();
  FileReport all = MatchFiles(facts, {{"a/ring.stl", Sha256::HexOf("cad")},
                                      {"b/scan.ply", Sha256::HexOf("scan")}});
  EXPECT_TRUE(all.complete);
  EXPECT_TRUE(all.missing.empty());
  EXPECT_EQ(all.files[0].second, "ring.stl");
  FileReport some = MatchFiles(facts, {{"ring.stl", Sha256::HexOf("cad")},
                                       {"x.bin", Sha256::HexOf("other")}});
  EXPECT_FALSE(some.complete);
  ASSERT_EQ(some.missing.size(), 1u);
  EXPECT_EQ(some.missing[0].name, "scan.ply");
  EXPECT_FALSE(some.files[1].second.has_value());
}

}  // namespace
}  // namespace loupe::crypto
