#include "server/policy/access_policy.h"

#include <gtest/gtest.h>

#include "crypto/sha256.h"
#include "server/app/config.h"

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
      Hash("tok-admin") +
      "' }\n"
      "principals { id: 'axa' role: ROLE_INSURER token_sha256: '" +
      Hash("tok-axa") +
      "' }\n"
      "principals { id: 'lloyds' role: ROLE_INSURER token_sha256: '" +
      Hash("tok-lloyds") +
      "' }\n"
      "principals { id: 'zurich' role: ROLE_INSURER token_sha256: '" +
      Hash("tok-zurich") +
      "' }\n"
      // aurum names axa for all of its pieces.
      "principals { id: 'studio-aurum-2' role: ROLE_STUDIO studio_id: "
      "'aurum' token_sha256: '" +
      Hash("tok-aurum-2") + "' insurers: 'axa' }\n");
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

// docs/api.md's status table, row by row: who may take each action, on a
// piece of aurum (which names axa) that names lloyds; zurich is named by
// neither. The state rules (from which status) are registry_status.cc's.
TEST(AccessPolicyTest, StatusChangesFollowTheTable) {
  auto policy = MakePolicy();
  auto who = [&](const std::string& token) {
    return *policy->Authenticate("Bearer " + token);
  };
  v1::Piece piece = AurumPiece();
  piece.add_insurers("lloyds");
  piece.set_status(v1::PIECE_STATUS_ACTIVE);
  auto by = [&](const std::string& token, std::string_view action,
                bool by_studio, const v1::Piece& p) -> std::string {
    auto r = policy->AuthorizeStatusChange(
        token.empty() ? Principal{} : who(token), false, action, by_studio, p);
    return r.ok() ? *r : absl::StatusCodeToString(r.status().code());
  };
  for (const char* action : {"revoke", "suspend", "unsuspend"}) {
    EXPECT_EQ(by("tok-aurum", action, true, piece), "studio:aurum");
    EXPECT_EQ(by("tok-admin", action, true, piece), "admin:admin");
    for (const char* no : {"tok-bellini", "tok-axa", "tok-bench"}) {
      EXPECT_EQ(by(no, action, true, piece), "PERMISSION_DENIED") << no;
    }
    EXPECT_EQ(by("", action, true, piece), "UNAUTHENTICATED");
  }
  for (const char* action : {"report_lost", "report_stolen"}) {
    EXPECT_EQ(by("tok-axa", action, false, piece), "insurer:axa");
    EXPECT_EQ(by("tok-lloyds", action, false, piece), "insurer:lloyds");
    EXPECT_EQ(by("tok-admin", action, false, piece), "admin:admin");
    EXPECT_EQ(*policy->AuthorizeStatusChange({}, true, action, false, piece),
              "owner");
    for (const char* no : {"tok-zurich", "tok-aurum", "tok-bench"}) {
      EXPECT_EQ(by(no, action, false, piece), "PERMISSION_DENIED") << no;
    }
    EXPECT_EQ(by("", action, false, piece), "UNAUTHENTICATED");
  }
  // An open report (lost, stolen) is changed or cleared by its reporter,
  // the owner or an admin only; the studio still revokes.
  for (auto status : {v1::PIECE_STATUS_LOST, v1::PIECE_STATUS_STOLEN}) {
    v1::Piece open = piece;
    open.set_status(status);
    open.set_status_changed_by("insurer:axa");
    for (const char* action : {"report_stolen", "recover"}) {
      EXPECT_EQ(by("tok-axa", action, false, open), "insurer:axa");
      EXPECT_EQ(by("tok-lloyds", action, false, open), "PERMISSION_DENIED");
      EXPECT_EQ(by("tok-admin", action, false, open), "admin:admin");
      EXPECT_EQ(*policy->AuthorizeStatusChange({}, true, action, false, open),
                "owner");
    }
    EXPECT_EQ(by("tok-aurum", "revoke", true, open), "studio:aurum");
    open.set_status_changed_by("owner");
    EXPECT_EQ(by("tok-axa", "recover", false, open), "PERMISSION_DENIED");
    auto denied = policy->AuthorizeStatusChange(who("tok-axa"), false,
                                                "recover", false, open);
    EXPECT_NE(denied.status().message().find("by owner; only that reporter"),
              std::string::npos)
        << denied.status();
  }
  // The studio's naming is per studio: bellini's pieces are not axa's.
  v1::Piece bellini;
  bellini.set_id("pc_y");
  bellini.set_studio_id("bellini");
  EXPECT_EQ(by("tok-axa", "report_stolen", false, bellini),
            "PERMISSION_DENIED");
}

TEST(AccessPolicyTest, InsurerNamesMustBeInsurers) {
  auto policy = MakePolicy();
  google::protobuf::RepeatedPtrField<std::string> names;
  *names.Add() = "axa";
  *names.Add() = "lloyds";
  EXPECT_TRUE(policy->CheckInsurerNames("insurers", names).ok());
  *names.Add() = "bench";  // A jeweler.
  auto s = policy->CheckInsurerNames("insurers", names);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("insurers[2]"), std::string::npos) << s;
  names.RemoveLast();
  *names.Add() = "axa";
  EXPECT_NE(policy->CheckInsurerNames("insurers", names)
                .message()
                .find("insurers[2]: named twice"),
            std::string::npos);
}

// Grants are shown only to callers with a token.
TEST(AccessPolicyTest, AnonymousCallersDoNotSeeGrants) {
  v1::Piece piece = AurumPiece();
  piece.add_insurers("axa");
  HideGrants(Principal{"bench", v1::ROLE_JEWELER, ""}, piece);
  EXPECT_EQ(piece.insurers_size(), 1);
  HideGrants(Principal{}, piece);
  EXPECT_EQ(piece.insurers_size(), 0);
  EXPECT_EQ(piece.asset_readers_size(), 0);
}

TEST(AccessPolicyTest, RejectsUnusableConfigurations) {
  for (const std::string text :
       {"principals { id: 'a' role: ROLE_STUDIO }",
        // Naming a principal that is no insurer, or naming as a non-studio.
        "principals { id: 's' role: ROLE_STUDIO studio_id: 's' insurers: 'b' "
        "} principals { id: 'b' role: ROLE_JEWELER }",
        "principals { id: 's' role: ROLE_STUDIO studio_id: 's' insurers: "
        "'nobody' }",
        "principals { id: 'b' role: ROLE_JEWELER insurers: 'i' } principals "
        "{ id: 'i' role: ROLE_INSURER }",
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
