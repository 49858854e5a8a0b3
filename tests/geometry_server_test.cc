// The server measures the mesh files of a twin version when it is recorded:
// the geometry summary (canonical hash, volume, ring measurements) is in
// the version and in its certificate; a malformed mesh is refused.
#include <gtest/gtest.h>

#include "base/file.h"
#include "crypto/bundle.h"
#include "crypto/statement.h"
#include "crypto/trust_root.h"
#include "geometry/geometry_hash.h"
#include "geometry/read_mesh.h"
#include "geometry/test_meshes.h"
#include "tests/test_server.h"
#include "tests/test_util.h"

namespace loupe::testing {
namespace {

class GeometryServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_path_ = server_.EnableSigning();
    ASSERT_OK(server_.Start());
    aurum_ = server_.Client(kAurumToken);
  }

  v1::AssetRef Upload(const std::string& bytes, const std::string& name,
                      v1::AssetRole role = v1::ASSET_ROLE_CAD) {
    auto header = HeaderFor(bytes);
    header.set_file_name(name);
    EXPECT_TRUE(aurum_->UploadBytes(header, bytes).ok());
    v1::AssetRef a = CadAsset(bytes);
    a.set_file_name(name);
    a.set_role(role);
    return a;
  }

  TestServer server_;
  std::string root_path_;
  std::unique_ptr<client::RegistryClient> aurum_;
};

TEST_F(GeometryServerTest, VersionsCarryTheMeasuredGeometry) {
  const geometry::Mesh band = geometry::testing::Band({});  // US 7.
  const std::string stl = geometry::testing::WriteStlBinary(band);
  auto request = PieceRequest("aurum", "GEO-1");
  request.mutable_first_version()->set_reason(v1::VERSION_REASON_ORIGINAL);
  *request.mutable_first_version()->add_assets() = Upload(stl, "ring.stl");
  // A photo is not measured.
  *request.mutable_first_version()->add_assets() =
      Upload("jpeg bytes", "ring.jpg", v1::ASSET_ROLE_PHOTO);
  auto piece = aurum_->CreatePiece(request);
  ASSERT_TRUE(piece.ok()) << piece.status();
  auto version = aurum_->GetVersion(piece->id(), 1);
  ASSERT_EQ(version->geometry_size(), 1);
  const auto& g = version->geometry(0);
  EXPECT_EQ(g.asset_sha256(), crypto::Sha256::HexOf(stl));
  // The hash of what the STL holds (float32 corners).
  EXPECT_EQ(g.geometry_hash(), geometry::CanonicalGeometryHash(
                                   geometry::ParseMesh(stl, "ring.stl")->mesh));
  EXPECT_NEAR(g.inner_diameter_mm(), 17.35, 0.01);
  EXPECT_NEAR(g.band_width_mm(), 4.0, 1e-4);
  EXPECT_NEAR(g.volume_mm3(), geometry::testing::BandVolume({}),
              1e-3 * g.volume_mm3());

  // The certificate states it.
  client::RegistryClient& c = *aurum_;
  auto cert = c.IssueCertificate(piece->id(), 1);
  ASSERT_TRUE(cert.ok()) << cert.status();
  auto bundle = crypto::ParseBundle(cert->bundle_json());
  auto statement = crypto::ParseStatement(bundle->certificate.payload);
  EXPECT_EQ(statement->predicate["twin"]["geometry"][0]["geometry_hash"],
            g.geometry_hash());
}

TEST_F(GeometryServerTest, AMalformedMeshIsRefusedNamingTheAsset) {
  const std::string stl =
      geometry::testing::WriteStlBinary(geometry::testing::Band(
          geometry::testing::PlainBand(8.675, 10.175, 4.0, 16)));
  const std::string cut = stl.substr(0, stl.size() - 20);
  auto request = PieceRequest("aurum", "GEO-2");
  request.mutable_first_version()->set_reason(v1::VERSION_REASON_ORIGINAL);
  *request.mutable_first_version()->add_assets() = Upload(cut, "ring.stl");
  EXPECT_STATUS(
      aurum_->CreatePiece(request).status(), kInvalidArgument,
      "first_version.assets[0]: ring.stl is not a readable mesh: STL");
  EXPECT_TRUE(aurum_->ListPieces({})->pieces().empty());
}

// STEP and 3MF files (geometry/cad) are measured at registration like
// meshes, and certified with their hash's version; a truncated STEP file
// is refused naming the asset and the problem. The files are the seeds of
// their fuzzers: a 2 x 3 x 4 mm box written by OpenCASCADE, a tetrahedron
// written by lib3mf.
TEST_F(GeometryServerTest, StepAnd3mfAssetsAreMeasured) {
  const std::string dir =
      std::string(LOUPE_SOURCE_DIR) + "/geometry/cad/fuzz/corpus/";
  auto step = ReadFileToString(dir + "step/box.step");
  auto three_mf = ReadFileToString(dir + "3mf/tetra.3mf");
  ASSERT_TRUE(step.ok() && three_mf.ok());
  auto request = PieceRequest("aurum", "GEO-CAD");
  request.mutable_first_version()->set_reason(v1::VERSION_REASON_ORIGINAL);
  *request.mutable_first_version()->add_assets() = Upload(*step, "box.STEP");
  *request.mutable_first_version()->add_assets() =
      Upload(*three_mf, "tetra.3mf");
  auto piece = aurum_->CreatePiece(request);
  ASSERT_TRUE(piece.ok()) << piece.status();
  auto version = aurum_->GetVersion(piece->id(), 1);
  ASSERT_EQ(version->geometry_size(), 2);
  EXPECT_NEAR(version->geometry(0).volume_mm3(), 24, 1e-6);
  EXPECT_NEAR(version->geometry(1).volume_mm3(), 1.0 / 6, 1e-6);
  EXPECT_EQ(version->geometry(0).geometry_hash_version(), 3u);
  auto cert = aurum_->IssueCertificate(piece->id(), 1);
  ASSERT_TRUE(cert.ok()) << cert.status();
  auto bundle = crypto::ParseBundle(cert->bundle_json());
  auto statement = crypto::ParseStatement(bundle->certificate.payload);
  EXPECT_EQ(
      statement->predicate["twin"]["geometry"][0]["geometry_hash_version"], 3);

  auto broken = PieceRequest("aurum", "GEO-CAD-2");
  broken.mutable_first_version()->set_reason(v1::VERSION_REASON_ORIGINAL);
  *broken.mutable_first_version()->add_assets() =
      Upload(step->substr(0, step->size() / 2), "ring.stp");
  EXPECT_STATUS(aurum_->CreatePiece(broken).status(), kInvalidArgument,
                "first_version.assets[0]: ring.stp is not a readable mesh: "
                "STEP: truncated");
}

TEST_F(GeometryServerTest, AJewelerChecksAResizeAndGetsASignedStatement) {
  geometry::testing::BandSpec us7;
  const std::string twin =
      geometry::testing::WriteStlBinary(geometry::testing::Band(us7));
  auto request = PieceRequest("aurum", "GEO-3");
  request.mutable_first_version()->set_reason(v1::VERSION_REASON_ORIGINAL);
  *request.mutable_first_version()->add_assets() = Upload(twin, "ring.stl");
  auto piece = aurum_->CreatePiece(request);
  ASSERT_TRUE(piece.ok()) << piece.status();

  geometry::testing::BandSpec us8 = us7;
  us8.inner_radius = 18.19 / 2;
  us8.outer_radius = us8.inner_radius + 1.5;
  const std::string resized =
      geometry::testing::WriteStlBinary(geometry::testing::Band(us8));
  v1::CheckGeometryHeader header;
  header.set_piece_id(piece->id());
  header.set_purpose("resize");
  header.set_tolerance_mm(0.05);
  header.set_file_name("resized.stl");
  // The jeweler granted access to aurum's files (not a studio) checks.
  auto check = server_.Client(kBenchToken)->CheckGeometry(header, resized);
  ASSERT_TRUE(check.ok()) << check.status();
  EXPECT_TRUE(check->pass());
  EXPECT_NEAR(check->inner_diameter_mm(), 18.19, 0.01);
  EXPECT_EQ(check->file_sha256(), crypto::Sha256::HexOf(resized));
  // The statement verifies with a certificate key of the trust root.
  auto root = crypto::VerifyInitialRoot(
      *crypto::EnvelopeFromJson(*ReadFileToString(root_path_)));
  auto envelope = crypto::EnvelopeFromJson(check->statement_json());
  ASSERT_TRUE(envelope.ok());
  auto verified = crypto::VerifyEnvelope(
      *envelope, crypto::KeysWithRole(*root, crypto::kRoleCertificate));
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_NE(verified->payload.find("\"pass\":true"), std::string::npos);
  EXPECT_NE(verified->payload.find("\"checked_by\":\"bench\""),
            std::string::npos)
      << verified->payload;

  // The same file as a repair fails, with the reason.
  header.set_purpose("repair");
  check = server_.Client(kBenchToken)->CheckGeometry(header, resized);
  ASSERT_TRUE(check.ok());
  EXPECT_FALSE(check->pass());

  // Refusals: who may not read the files, a malformed file, a bad purpose.
  EXPECT_STATUS(
      server_.Client(kInsurerToken)->CheckGeometry(header, resized).status(),
      kPermissionDenied, "");
  EXPECT_STATUS(server_.Client(kBenchToken)
                    ->CheckGeometry(header, resized.substr(0, 500))
                    .status(),
                kInvalidArgument, "file: resized.stl is not a readable mesh");
  header.set_purpose("melt");
  EXPECT_STATUS(
      server_.Client(kBenchToken)->CheckGeometry(header, resized).status(),
      kInvalidArgument, "purpose");
}

}  // namespace
}  // namespace loupe::testing
