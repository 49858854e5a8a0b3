#include "crypto/trust_root.h"

#include <gtest/gtest.h>

namespace loupe::crypto {
namespace {

absl::Time Day(int d) {
  return absl::FromCivil(absl::CivilDay(2026, 1, 1), absl::UTCTimeZone()) +
         absl::Hours(24 * d);
}

class TrustRootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 4; ++i) {
      auto key = SigningKey::Generate();
      ASSERT_TRUE(key.ok());
      keys_.push_back(std::make_unique<SigningKey>(*std::move(key)));
    }
  }

  RootKey Key(int i, std::vector<std::string> roles, absl::Time from,
              std::optional<absl::Time> until = std::nullopt) {
    return RootKey{keys_[i]->public_key(), std::move(roles), from, until};
  }

  // v1: key 0 signs roots, key 1 signs certificates.
  TrustRoot V1() {
    return TrustRoot{"registry.example/loupe",
                     1,
                     1,
                     {Key(0, {kRoleRoot}, Day(0)),
                      Key(1, {kRoleCertificate, kRoleCheckpoint}, Day(0))}};
  }
  // v2: root key rotated to key 2; certificate key 1 retired at day 100,
  // replaced by key 3.
  TrustRoot V2() {
    return TrustRoot{"registry.example/loupe",
                     2,
                     1,
                     {Key(2, {kRoleRoot}, Day(90)),
                      Key(1, {kRoleCertificate}, Day(0), Day(100)),
                      Key(3, {kRoleCertificate, kRoleCheckpoint}, Day(100))}};
  }

  DsseEnvelope Signed(const TrustRoot& root, std::vector<int> signers) {
    std::vector<const SigningKey*> keys;
    for (int i : signers) keys.push_back(keys_[i].get());
    auto envelope = SignRoot(root, keys);
    EXPECT_TRUE(envelope.ok()) << envelope.status();
    return *envelope;
  }

  std::vector<std::unique_ptr<SigningKey>> keys_;
};

TEST_F(TrustRootTest, InitialRootNeedsItsOwnRootKeys) {
  auto root = VerifyInitialRoot(Signed(V1(), {0}));
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(root->version, 1u);
  // A certificate key cannot sign a root.
  EXPECT_EQ(VerifyInitialRoot(Signed(V1(), {1})).status().code(),
            absl::StatusCode::kPermissionDenied);
  auto tampered = Signed(V1(), {0});
  tampered.payload[tampered.payload.size() / 2] ^= 1;
  EXPECT_FALSE(VerifyInitialRoot(tampered).ok());
}

TEST_F(TrustRootTest, ThresholdCountsDistinctKeys) {
  TrustRoot two = V1();
  two.keys[1].roles.push_back(kRoleRoot);
  two.threshold = 2;
  EXPECT_TRUE(VerifyInitialRoot(Signed(two, {0, 1})).ok());
  auto once = VerifyInitialRoot(Signed(two, {0, 0}));  // Same key twice.
  EXPECT_EQ(once.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(once.status().message().find("2 needed"), std::string::npos)
      << once.status();
}

TEST_F(TrustRootTest, OldRootFollowsRotationsAndRefusesRollbackAndSkips) {
  const TrustRoot v1 = *VerifyInitialRoot(Signed(V1(), {0}));
  // v2 signed by the old root key and its own.
  const auto v2_envelope = Signed(V2(), {0, 2});
  auto v2 = VerifyNextRoot(v1, v2_envelope);
  ASSERT_TRUE(v2.ok()) << v2.status();
  // Signed only by the new key, or only by the old one: refused.
  EXPECT_NE(
      VerifyNextRoot(v1, Signed(V2(), {2})).status().message().find("previous"),
      std::string::npos);
  EXPECT_NE(
      VerifyNextRoot(v1, Signed(V2(), {0})).status().message().find("its own"),
      std::string::npos);
  // v3 rotates the root key again; a holder of v1 follows v1 -> v2 -> v3.
  TrustRoot v3_root = V2();
  v3_root.version = 3;
  v3_root.keys[0] = Key(0, {kRoleRoot}, Day(200));
  const auto v3_envelope = Signed(v3_root, {2, 0});
  auto newest = FollowRoots(v1, {Signed(V1(), {0}), v2_envelope, v3_envelope});
  ASSERT_TRUE(newest.ok()) << newest.status();
  EXPECT_EQ(newest->version, 3u);
  // Skipping v2 is refused; going back to v1 from v2 is a rollback.
  auto skip = VerifyNextRoot(v1, v3_envelope);
  EXPECT_NE(skip.status().message().find("skips v2"), std::string::npos)
      << skip.status();
  auto rollback = VerifyNextRoot(*v2, Signed(V1(), {0, 2}));
  EXPECT_NE(rollback.status().message().find("rollback"), std::string::npos)
      << rollback.status();
  TrustRoot other_origin = V2();
  other_origin.origin = "evil.example/loupe";
  EXPECT_FALSE(VerifyNextRoot(v1, Signed(other_origin, {0, 2})).ok());
}

TEST_F(TrustRootTest, RotatedOutKeysVerifyOnlyWhatTheySignedWhileValid) {
  const TrustRoot v2 = V2();
  const std::string retired = KeyId(keys_[1]->public_key());
  EXPECT_TRUE(v2.KeyValidAt(retired, kRoleCertificate, Day(99)).ok());
  auto after = v2.KeyValidAt(retired, kRoleCertificate, Day(101));
  EXPECT_EQ(after.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(after.status().message().find("was not valid"), std::string::npos);
  EXPECT_TRUE(
      v2.KeyValidAt(KeyId(keys_[3]->public_key()), kRoleCertificate, Day(101))
          .ok());
  EXPECT_FALSE(
      v2.KeyValidAt(KeyId(keys_[3]->public_key()), kRoleCertificate, Day(99))
          .ok());
  EXPECT_NE(v2.KeyValidAt(retired, kRoleCheckpoint, Day(50))
                .status()
                .message()
                .find("may not sign"),
            std::string::npos);
  EXPECT_NE(
      v2.KeyValidAt(KeyId(keys_[0]->public_key()), kRoleCertificate, Day(50))
          .status()
          .message()
          .find("not in trust root"),
      std::string::npos);
}

TEST_F(TrustRootTest, PayloadIsCanonicalAndMalformedOnesAreNamed) {
  auto a = EncodeRoot(V2());
  ASSERT_TRUE(a.ok());
  auto parsed = ParseRoot(*a);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*EncodeRoot(*parsed), *a);
  for (const auto& [edit, field] :
       std::vector<std::pair<std::pair<std::string, std::string>, std::string>>{
           {{"\"version\":2", "\"version\":0"}, "root.version"},
           {{"\"threshold\":1", "\"threshold\":5"}, "root.threshold"},
           {{"\"certificate\"", "\"everything\""}, "root.keys[1].roles"},
           {{"T00:00:00Z", "yesterday"}, "root.keys[0].valid_from"},
           {{"\"origin\":\"registry.example/loupe\"", "\"origin\":\"\""},
            "root.origin"}}) {
    std::string text = *a;
    text.replace(text.find(edit.first), edit.first.size(), edit.second);
    auto s = ParseRoot(text).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_EQ(std::string(s.message()).rfind(field, 0), 0u) << s;
  }
  for (size_t n = 0; n < a->size(); n += 11) {
    EXPECT_FALSE(ParseRoot(a->substr(0, n)).ok());
  }
}

// Issue 15: the root names its witnesses and how many must cosign.
TEST_F(TrustRootTest, WitnessesRoundTripAndMalformedOnesAreNamed) {
  TrustRoot root = V1();
  root.witnesses = {{"witness.example/a", keys_[2]->public_key()},
                    {"witness.example/b", keys_[3]->public_key()}};
  root.witness_threshold = 2;
  auto text = EncodeRoot(root);
  ASSERT_TRUE(text.ok()) << text.status();
  auto parsed = ParseRoot(*text);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->witnesses.size(), 2u);
  EXPECT_EQ(parsed->witnesses[1].name, "witness.example/b");
  EXPECT_EQ(parsed->witnesses[1].public_key, keys_[3]->public_key());
  EXPECT_EQ(parsed->witness_threshold, 2u);
  // Without witnesses the payload is as before: no new fields.
  EXPECT_EQ(EncodeRoot(V1())->find("witness"), std::string::npos);
  const std::string b_hex = ToHex(keys_[3]->public_key().data(), 32);
  const std::string a_hex = ToHex(keys_[2]->public_key().data(), 32);
  for (const auto& [edit, field] :
       std::vector<std::pair<std::pair<std::string, std::string>, std::string>>{
           {{"\"witness_threshold\":2", "\"witness_threshold\":3"},
            "root.witness_threshold"},
           {{"\"witness_threshold\":2", "\"witness_threshold\":-1"},
            "root.witness_threshold"},
           {{"witness.example/b", "witness.example/a"}, "root.witnesses[1]"},
           {{b_hex, a_hex}, "root.witnesses[1]"},
           {{"witness.example/b", "witness example"}, "root.witnesses[1].name"},
           {{"witness.example/b", "a+b"}, "root.witnesses[1].name"},
           {{"\"name\":\"witness.example/b\"", "\"name\":7"},
            "root.witnesses[1].name"},
           {{b_hex, "00"}, "root.witnesses[1].public_key"},
           {{"\"witnesses\":[", "\"witnesses\":7,\"w\":["},
            "root.witnesses"}}) {
    std::string edited = *text;
    ASSERT_NE(edited.find(edit.first), std::string::npos) << edit.first;
    edited.replace(edited.find(edit.first), edit.first.size(), edit.second);
    auto s = ParseRoot(edited).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << edited;
    EXPECT_EQ(std::string(s.message()).rfind(field, 0), 0u) << s;
  }
  // A threshold with no witnesses is refused too.
  root.witnesses.clear();
  EXPECT_FALSE(EncodeRoot(root).ok());
}

}  // namespace
}  // namespace loupe::crypto
