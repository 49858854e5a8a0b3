#include "server/access_policy.h"

#include <gtest/gtest.h>

#include "crypto/sha256.h"
#include "server/config.h"

namespace loupe::server {
namespace {

std::string Hash(const std::string& token) {
  return crypto::Sha256::HexOf(token);
}

std::unique_ptr<AccessPolicy> MakePolicy() {
  auto config = ParseConfig(
      "principals { id: 'studio-aurum' role: ROLE_STUDIO studio_id: 'aurum' "
      "token_sha256: '" +
      Hash("tok-aurum") +
      "' asset_readers: 'bench' }\n"
      "principals { id: 'studio-bellini' role: ROLE_STUDIO studio_id: "
      "'bellini' token_sha256: '" +
      Hash("tok-bellini") +
      "' }\n"
      "principals { id: 'bench' role: ROLE_JEWELER token_sha256: '" +
      Hash("tok-bench") +
      "' }\n"
      "principals { id: 'other-bench' role: ROLE_JEWELER token_sha256: '" +
      Hash("tok-other") +
      "' }\n"
      "principals { id: 'admin' role: ROLE_ADMIN token_sha256: '" +
      Hash("tok-admin") + "' }\n");
  EXPECT_TRUE(config.ok()) << config.status();
  auto policy = AccessPolicy::FromConfig(*config);
  EXPECT_TRUE(policy.ok()) << policy.status();
  return *std::move(policy);
}

v1::Piece AurumPiece() {
  v1::Piece p;
  p.set_id("pc_x");
  p.set_studio_id("aurum");
  p.add_asset_readers("other-bench");
  return p;
}

TEST(AccessPolicyTest, AuthenticatesOnlyKnownBearerTokens) {
  auto policy = MakePolicy();
  auto who = policy->Authenticate("Bearer tok-aurum");
  ASSERT_TRUE(who.ok());
  EXPECT_EQ(who->id, "studio-aurum");
  EXPECT_EQ(who->studio_id, "aurum");
  EXPECT_TRUE(policy->Authenticate("bearer tok-bench").ok());
  for (const char* bad : {"", "tok-aurum", "Bearer ", "Bearer tok-aurumX",
                          "Basic tok-aurum", "Bearer tok"}) {
    auto s = policy->Authenticate(bad);
    EXPECT_EQ(s.status().code(), absl::StatusCode::kUnauthenticated) << bad;
    EXPECT_NE(s.status().message().find("authorization"), std::string::npos);
  }
}

TEST(AccessPolicyTest, StudiosWriteOnlyTheirOwnPieces) {
  auto policy = MakePolicy();
  auto aurum = *policy->Authenticate("Bearer tok-aurum");
  auto bellini = *policy->Authenticate("Bearer tok-bellini");
  auto bench = *policy->Authenticate("Bearer tok-bench");
  auto admin = *policy->Authenticate("Bearer tok-admin");
  EXPECT_TRUE(policy->CheckCreatePiece(aurum, "aurum").ok());
  EXPECT_EQ(policy->CheckCreatePiece(aurum, "bellini").code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(policy->CheckCreatePiece(bench, "aurum").code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(policy->CheckWritePiece(aurum, AurumPiece()).ok());
  EXPECT_EQ(policy->CheckWritePiece(bellini, AurumPiece()).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(policy->CheckWritePiece(admin, AurumPiece()).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(policy->CheckUpload(bellini).ok());
  EXPECT_EQ(policy->CheckUpload(bench).code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(AccessPolicyTest, AssetBytesOnlyForStudioGranteesAndAdmins) {
  auto policy = MakePolicy();
  const auto piece = AurumPiece();
  for (const char* ok : {"tok-aurum", "tok-bench", "tok-other", "tok-admin"}) {
    auto who = *policy->Authenticate(std::string("Bearer ") + ok);
    EXPECT_TRUE(policy->CheckReadAssets(who, piece).ok()) << ok;
  }
  auto bellini = *policy->Authenticate("Bearer tok-bellini");
  EXPECT_EQ(policy->CheckReadAssets(bellini, piece).code(),
            absl::StatusCode::kPermissionDenied);
  v1::Piece ungranted = piece;
  ungranted.clear_asset_readers();
  auto other = *policy->Authenticate("Bearer tok-other");
  EXPECT_EQ(policy->CheckReadAssets(other, ungranted).code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(AccessPolicyTest, RejectsUnusableConfigurations) {
  for (const std::string text :
       {"principals { id: 'a' role: ROLE_STUDIO }",
        "principals { id: 'a' role: ROLE_ADMIN token_sha256: 'abc' }",
        "principals { role: ROLE_ADMIN }", "principals { id: 'a' }",
        "principals { id: 'a' role: ROLE_ADMIN } principals { id: 'a' role: "
        "ROLE_ADMIN }"}) {
    auto config = ParseConfig(text);
    ASSERT_TRUE(config.ok()) << text;
    auto policy = AccessPolicy::FromConfig(*config);
    EXPECT_EQ(policy.status().code(), absl::StatusCode::kInvalidArgument)
        << text;
    EXPECT_NE(policy.status().message().find("principals"), std::string::npos);
  }
}

}  // namespace
}  // namespace loupe::server
