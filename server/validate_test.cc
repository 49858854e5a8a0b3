#include "server/validate.h"

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
