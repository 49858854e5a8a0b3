#include "server/registry/validate.h"

#include <gtest/gtest.h>

#include "crypto/sha256.h"

namespace loupe::server {
namespace {

// The error must be INVALID_ARGUMENT and start with the field's path.
void ExpectField(const absl::Status& s, const std::string& field) {
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_EQ(std::string(s.message()).rfind(field + ":", 0), 0u) << s;
}

v1::CreatePieceRequest GoodPiece() {
  v1::CreatePieceRequest r;
  r.set_studio_id("aurum");
  r.set_studio_reference("A-1001");
  r.set_kind(v1::PIECE_KIND_RING);
  return r;
}

v1::TwinVersion GoodVersion() {
  v1::TwinVersion v;
  v.set_reason(v1::VERSION_REASON_ORIGINAL);
  auto* a = v.add_assets();
  a->set_role(v1::ASSET_ROLE_CAD);
  a->set_file_name("ring.stl");
  a->set_sha256(crypto::Sha256::HexOf("ring"));
  v.mutable_assay()->set_fineness_per_mille(750);
  (*v.mutable_assay()->mutable_composition())["Au"] = 0.75;
  return v;
}

TEST(ValidateTest, AcceptsGoodInput) {
  EXPECT_TRUE(ValidateCreatePiece(GoodPiece()).ok());
  EXPECT_TRUE(ValidateVersion(GoodVersion()).ok());
  EXPECT_TRUE(
      ValidatePieceId("piece_id", "pc_abcdefghijklmnopqrstuvwxyz").ok());
}

TEST(ValidateTest, PieceFieldsAreNamed) {
  auto r = GoodPiece();
  r.set_studio_id("Aurum!");
  ExpectField(ValidateCreatePiece(r), "studio_id");
  r = GoodPiece();
  r.set_studio_reference("");
  ExpectField(ValidateCreatePiece(r), "studio_reference");
  r.set_studio_reference(std::string("a\0b", 3));
  ExpectField(ValidateCreatePiece(r), "studio_reference");
  r = GoodPiece();
  r.set_kind(v1::PIECE_KIND_UNSPECIFIED);
  ExpectField(ValidateCreatePiece(r), "kind");
  r = GoodPiece();
  r.set_title(std::string(300, 't'));
  ExpectField(ValidateCreatePiece(r), "title");
  ExpectField(ValidatePieceId("piece_id", "pc_short"), "piece_id");
  ExpectField(ValidatePieceId("piece_id", "../../etc/passwd"), "piece_id");
}

TEST(ValidateTest, Gs1IdentifiersAreChecked) {
  auto r = GoodPiece();
  r.set_gtin("4006381333931");
  r.set_serial("R-2027/001");
  EXPECT_TRUE(ValidateCreatePiece(r).ok());
  r.set_gtin("4006381333932");  // Wrong check digit.
  ExpectField(ValidateCreatePiece(r), "gtin");
  r.set_gtin("4006381333931");
  r.set_serial("with space");
  ExpectField(ValidateCreatePiece(r), "serial");
  r.set_gtin("");
  r.set_serial("R1");  // A serial needs a GTIN.
  ExpectField(ValidateCreatePiece(r), "serial");
}

TEST(ValidateTest, VersionFieldsAreNamed) {
  auto v = GoodVersion();
  v.set_reason(v1::VERSION_REASON_UNSPECIFIED);
  ExpectField(ValidateVersion(v), "version.reason");
  v = GoodVersion();
  v.mutable_assets(0)->set_file_name("../ring.stl");
  ExpectField(ValidateVersion(v), "version.assets[0].file_name");
  v = GoodVersion();
  v.mutable_assets(0)->set_sha256("ABC");
  ExpectField(ValidateVersion(v), "version.assets[0].sha256");
  v = GoodVersion();
  *v.add_assets() = v.assets(0);
  ExpectField(ValidateVersion(v), "version.assets[1].sha256");
  v = GoodVersion();
  v.mutable_assay()->set_fineness_per_mille(1001);
  ExpectField(ValidateVersion(v), "version.assay.fineness_per_mille");
  v = GoodVersion();
  (*v.mutable_assay()->mutable_composition())["Cu"] = 0.5;
  ExpectField(ValidateVersion(v), "version.assay.composition");
  v = GoodVersion();
  v.mutable_assay()->set_date("2026-13");
  ExpectField(ValidateVersion(v), "version.assay.date");
  v = GoodVersion();
  v.add_stones()->set_carat(-1);
  ExpectField(ValidateVersion(v), "version.stones[0].carat");
  v = GoodVersion();
  v.add_stones()->set_carat(std::nan(""));
  ExpectField(ValidateVersion(v), "version.stones[0].carat");
  v = GoodVersion();
  v.add_production()->set_kind(v1::PRODUCTION_STEP_KIND_SCAN);
  v.mutable_production(0)->add_asset_sha256(crypto::Sha256::HexOf("x"));
  ExpectField(ValidateVersion(v), "version.production[0].asset_sha256[0]");
  v = GoodVersion();
  v.add_hallmarks()->set_photo_sha256(crypto::Sha256::HexOf("photo"));
  ExpectField(ValidateVersion(v), "version.hallmarks[0].photo_sha256");
  v = GoodVersion();
  v.mutable_ring_size()->set_system(v1::RING_SIZE_SYSTEM_US);
  ExpectField(ValidateVersion(v), "version.ring_size.value");
  v.mutable_ring_size()->set_value("7");
  v.mutable_ring_size()->set_inner_diameter_mm(170);  // cm typo.
  ExpectField(ValidateVersion(v), "version.ring_size.inner_diameter_mm");
}

// Status reasons are printed by verifiers: no terminal controls, and
// UTF-8; the message names the field and the character.
TEST(ValidateTest, StatusReasons) {
  for (const std::string& ok :
       {std::string("police report 4711"),
        std::string("perdu \xc3\xa0 Z\xc3\xbcrich \xf0\x9f\x92\x8d"),
        std::string(500, 'r')}) {
    EXPECT_TRUE(ValidateStatusReason("reason", ok).ok()) << ok;
  }
  for (const std::string& bad :
       {std::string(), std::string(501, 'r'), std::string("\xff"),
        std::string("\xc0\x80")}) {
    ExpectField(ValidateStatusReason("reason", bad), "reason");
  }
  const std::pair<std::string, std::string> controls[] = {
      {"ok\x1b[31mred", "U+001B at byte 2"},
      {"a\rb", "U+000D at byte 1"},
      {"a\nb", "U+000A"},
      {"a\tb", "U+0009"},
      {"del\x7f", "U+007F"},
      {"csi\xc2\x9b", "U+009B at byte 3"},
      {"bidi\xe2\x80\xae", "U+202E"},
      {"iso\xe2\x81\xa6", "U+2066"},
  };
  for (const auto& [text, where] : controls) {
    const absl::Status s = ValidateStatusReason("reason", text);
    ExpectField(s, "reason");
    EXPECT_NE(s.message().find("control character (" + where),
              std::string::npos)
        << s;
  }
}

TEST(ValidateTest, UploadHeader) {
  v1::UploadAssetHeader h;
  h.set_sha256(crypto::Sha256::HexOf("x"));
  h.set_size_bytes(10);
  EXPECT_TRUE(ValidateUploadHeader(h, 100).ok());
  h.set_size_bytes(101);
  auto s = ValidateUploadHeader(h, 100);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(s.message().find("header.size_bytes"), std::string::npos);
  h.set_sha256("nope");
  ExpectField(ValidateUploadHeader(h, 1000), "header.sha256");
}

}  // namespace
}  // namespace loupe::server
