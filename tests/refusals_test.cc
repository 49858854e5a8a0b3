// Bad input and unauthorised callers against a real server: each refused
// with the right code and a message naming the problem, nothing stored, and
// the server still up afterwards.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "tests/test_server.h"
#include "tests/test_util.h"

namespace loupe::testing {
namespace {

class RefusalsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(server_.Start());
    aurum_ = server_.Client(kAurumToken);
    auto piece = aurum_->CreatePiece(PieceRequest("aurum", "A-1"));
    ASSERT_TRUE(piece.ok());
    piece_ = *piece;
  }
  void TearDown() override {
    // Whatever happened, the server is still up and its data intact.
    auto piece = aurum_->GetPiece(piece_.id());
    EXPECT_TRUE(piece.ok()) << piece.status() << "\n" << server_.log();
  }

  TestServer server_;
  std::unique_ptr<client::RegistryClient> aurum_;
  v1::Piece piece_;
};

TEST_F(RefusalsTest, EveryRpcNeedsAKnownToken) {
  for (const std::string token : {"", "wrong-token"}) {
    auto c = server_.Client(token);
    const std::string text = token.empty() ? "missing" : "unknown token";
    EXPECT_STATUS(c->CreatePiece(PieceRequest("aurum", "X")).status(),
                  kUnauthenticated, text);
    EXPECT_STATUS(c->AddVersion(VersionRequest(piece_.id(), 0,
                                               v1::VERSION_REASON_ORIGINAL))
                      .status(),
                  kUnauthenticated, text);
    EXPECT_STATUS(c->ListPieces({}).status(), kUnauthenticated, text);
    const std::string bytes = "x";
    EXPECT_STATUS(c->UploadBytes(HeaderFor(bytes), bytes).status(),
                  kUnauthenticated, text);
    v1::DownloadAssetRequest d;
    d.set_sha256(crypto::Sha256::HexOf(bytes));
    EXPECT_STATUS(c->DownloadBytes(d).status(), kUnauthenticated, text);
  }
}

// A piece's facts, versions and certificates are public: no token is
// needed, but a token that is sent must be known. Who may read the files
// is not shown to anonymous callers.
TEST_F(RefusalsTest, PublicFactsNeedNoTokenButAWrongTokenIsRefused) {
  auto anonymous = server_.Client("");
  auto piece = anonymous->GetPiece(piece_.id());
  ASSERT_TRUE(piece.ok()) << piece.status();
  EXPECT_EQ(piece->id(), piece_.id());
  EXPECT_EQ(piece->asset_readers_size(), 0);
  // It has no version yet: found to be missing, not refused.
  EXPECT_EQ(anonymous->GetVersion(piece_.id(), 0).status().code(),
            absl::StatusCode::kNotFound);
  v1::ListVersionsRequest lv;
  lv.set_piece_id(piece_.id());
  EXPECT_TRUE(anonymous->ListVersions(lv).ok());
  auto wrong = server_.Client("wrong-token");
  EXPECT_STATUS(wrong->GetPiece(piece_.id()).status(), kUnauthenticated,
                "unknown token");
  EXPECT_STATUS(wrong->GetVersion(piece_.id(), 0).status(), kUnauthenticated,
                "unknown token");
  EXPECT_STATUS(wrong->ListVersions(lv).status(), kUnauthenticated,
                "unknown token");
}

TEST_F(RefusalsTest, StudiosCannotTouchOtherStudiosPieces) {
  auto bellini = server_.Client(kBelliniToken);
  EXPECT_STATUS(bellini->CreatePiece(PieceRequest("aurum", "B-1")).status(),
                kPermissionDenied, "studio_id");
  EXPECT_STATUS(bellini
                    ->AddVersion(VersionRequest(piece_.id(), 0,
                                                v1::VERSION_REASON_ORIGINAL))
                    .status(),
                kPermissionDenied, "belongs to studio aurum");
  auto bench = server_.Client(kBenchToken);
  EXPECT_STATUS(bench->CreatePiece(PieceRequest("aurum", "J-1")).status(),
                kPermissionDenied, "not a studio");
  const std::string bytes = "scan";
  EXPECT_STATUS(bench->UploadBytes(HeaderFor(bytes), bytes).status(),
                kPermissionDenied, "not a studio");
  // Metadata is readable by every authenticated principal.
  EXPECT_TRUE(bellini->GetPiece(piece_.id()).ok());
  EXPECT_TRUE(server_.Client(kInsurerToken)->GetPiece(piece_.id()).ok());
  // A studio cannot attach another studio's design by knowing its digest.
  const std::string design = TestBytes(5000, 9);
  ASSERT_TRUE(aurum_->UploadBytes(HeaderFor(design), design).ok());
  auto bp = bellini->CreatePiece(PieceRequest("bellini", "B-2"));
  ASSERT_TRUE(bp.ok());
  auto steal = VersionRequest(bp->id(), 0, v1::VERSION_REASON_ORIGINAL);
  *steal.mutable_version()->add_assets() = CadAsset(design);
  EXPECT_STATUS(bellini->AddVersion(steal).status(), kFailedPrecondition,
                "not uploaded by studio bellini");
}

TEST_F(RefusalsTest, InvalidFieldsAreNamed) {
  auto bad_kind = PieceRequest("aurum", "A-2");
  bad_kind.set_kind(v1::PIECE_KIND_UNSPECIFIED);
  EXPECT_STATUS(aurum_->CreatePiece(bad_kind).status(), kInvalidArgument,
                "kind");
  EXPECT_STATUS(aurum_->CreatePiece(PieceRequest("aurum", "")).status(),
                kInvalidArgument, "studio_reference");
  EXPECT_STATUS(aurum_->GetPiece("pc_../../etc").status(), kInvalidArgument,
                "piece_id");
  EXPECT_STATUS(aurum_->GetPiece("pc_aaaaaaaaaaaaaaaaaaaaaaaaaa").status(),
                kNotFound, "piece_id");
  auto v = VersionRequest(piece_.id(), 0, v1::VERSION_REASON_ORIGINAL);
  auto* asset = v.mutable_version()->add_assets();
  *asset = CadAsset("x");
  asset->set_file_name("../../ring.stl");
  EXPECT_STATUS(aurum_->AddVersion(v).status(), kInvalidArgument,
                "version.assets[0].file_name");
  v.mutable_version()->clear_assets();
  v.mutable_version()->mutable_assay()->set_fineness_per_mille(1200);
  EXPECT_STATUS(aurum_->AddVersion(v).status(), kInvalidArgument,
                "version.assay.fineness_per_mille");
  v1::AddVersionRequest no_version;
  no_version.set_piece_id(piece_.id());
  EXPECT_STATUS(aurum_->AddVersion(no_version).status(), kInvalidArgument,
                "version");
  v1::DownloadAssetRequest d;
  d.set_sha256("ABC");
  EXPECT_STATUS(aurum_->DownloadBytes(d).status(), kInvalidArgument, "sha256");
  EXPECT_EQ(aurum_->GetPiece(piece_.id())->current_version(), 0u);
}

TEST_F(RefusalsTest, MismatchedUploadsStoreNothing) {
  const std::string bytes = TestBytes(2 * (1 << 20) + 10, 4);
  auto wrong_sha = HeaderFor(bytes);
  wrong_sha.set_sha256(crypto::Sha256::HexOf("something else"));
  EXPECT_STATUS(aurum_->UploadBytes(wrong_sha, bytes).status(),
                kInvalidArgument, "sha256");
  auto too_big = HeaderFor(bytes);
  too_big.set_size_bytes(bytes.size() + 1);
  EXPECT_STATUS(aurum_->UploadBytes(too_big, bytes).status(), kInvalidArgument,
                "size_bytes");
  auto too_small = HeaderFor(bytes);
  too_small.set_size_bytes(bytes.size() - 1);
  EXPECT_STATUS(aurum_->UploadBytes(too_small, bytes).status(),
                kInvalidArgument, "size_bytes");
  auto huge = HeaderFor(bytes);
  huge.set_size_bytes(uint64_t{1} << 40);
  EXPECT_STATUS(aurum_->UploadBytes(huge, bytes).status(), kResourceExhausted,
                "size_bytes");
  // None of it is stored: not downloadable, not attachable to a version.
  for (const auto& sha : {crypto::Sha256::HexOf(bytes), wrong_sha.sha256()}) {
    v1::DownloadAssetRequest d;
    d.set_sha256(sha);
    EXPECT_STATUS(aurum_->DownloadBytes(d).status(), kPermissionDenied,
                  "piece_id");
    auto v = VersionRequest(piece_.id(), 0, v1::VERSION_REASON_ORIGINAL);
    *v.mutable_version()->add_assets() = CadAsset(bytes);
    v.mutable_version()->mutable_assets(0)->set_sha256(sha);
    EXPECT_STATUS(aurum_->AddVersion(v).status(), kFailedPrecondition,
                  "upload it first");
  }
}

TEST_F(RefusalsTest, MalformedUploadStreams) {
  grpc::ClientContext ctx;
  aurum_->Prepare(&ctx, 30);
  v1::UploadAssetResponse response;
  {
    auto writer = aurum_->stub().UploadAsset(&ctx, &response);
    v1::UploadAssetRequest chunk_first;
    chunk_first.set_chunk("abc");
    writer->Write(chunk_first);
    writer->WritesDone();
    auto s = writer->Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(s.error_message().find("header"), std::string::npos);
  }
  grpc::ClientContext ctx2;
  aurum_->Prepare(&ctx2, 30);
  {
    const std::string big(1 << 20 | 1, 'x');
    auto writer = aurum_->stub().UploadAsset(&ctx2, &response);
    v1::UploadAssetRequest m;
    *m.mutable_header() = HeaderFor(big);
    writer->Write(m);
    m.set_chunk(big);
    writer->Write(m);
    writer->WritesDone();
    auto s = writer->Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(s.error_message().find("1 MiB"), std::string::npos);
  }
  grpc::ClientContext ctx3;
  aurum_->Prepare(&ctx3, 30);
  {
    auto writer = aurum_->stub().UploadAsset(&ctx3, &response);
    writer->WritesDone();
    auto s = writer->Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
  // A client that vanishes mid-upload leaves nothing behind either.
  const std::string bytes = TestBytes(3 << 20, 5);
  {
    grpc::ClientContext ctx4;
    aurum_->Prepare(&ctx4, 30);
    auto writer = aurum_->stub().UploadAsset(&ctx4, &response);
    v1::UploadAssetRequest m;
    *m.mutable_header() = HeaderFor(bytes);
    writer->Write(m);
    m.set_chunk(bytes.substr(0, 1 << 20));
    writer->Write(m);
    ctx4.TryCancel();
    writer->Finish();
  }
  v1::DownloadAssetRequest d;
  d.set_sha256(crypto::Sha256::HexOf(bytes));
  EXPECT_FALSE(aurum_->DownloadBytes(d).ok());
}

TEST_F(RefusalsTest, DigestInTheTrailerIsCheckedLikeTheHeaders) {
  const std::string bytes = TestBytes((2 << 20) + 99, 6);
  // The trailer path works and deduplicates with the header path.
  auto up = aurum_->UploadBytes(HeaderFor(bytes), bytes, /*trailer=*/true);
  ASSERT_TRUE(up.ok()) << up.status();
  EXPECT_EQ(up->sha256(), crypto::Sha256::HexOf(bytes));
  EXPECT_TRUE(aurum_->UploadBytes(HeaderFor(bytes), bytes)->deduplicated());
  v1::DownloadAssetRequest d;
  d.set_sha256(up->sha256());
  EXPECT_TRUE(*aurum_->DownloadBytes(d) == bytes);

  // A wrong digest in the trailer stores nothing.
  const std::string other = TestBytes(5000, 7);
  auto wrong = HeaderFor(other);
  wrong.set_sha256(crypto::Sha256::HexOf("not it"));
  EXPECT_STATUS(aurum_->UploadBytes(wrong, other, true).status(),
                kInvalidArgument, "sha256");
  d.set_sha256(crypto::Sha256::HexOf(other));
  EXPECT_STATUS(aurum_->DownloadBytes(d).status(), kPermissionDenied,
                "piece_id");

  // The digest is declared exactly once.
  auto send = [&](bool header_digest, bool trailer, bool chunk_after) {
    grpc::ClientContext ctx;
    aurum_->Prepare(&ctx, 30);
    v1::UploadAssetResponse response;
    auto writer = aurum_->stub().UploadAsset(&ctx, &response);
    v1::UploadAssetRequest m;
    *m.mutable_header() = HeaderFor(other);
    if (!header_digest) m.mutable_header()->clear_sha256();
    writer->Write(m);
    m.set_chunk(other);
    writer->Write(m);
    if (trailer) {
      m.mutable_trailer()->set_sha256(crypto::Sha256::HexOf(other));
      writer->Write(m);
    }
    if (chunk_after) {
      m.set_chunk("x");
      writer->Write(m);
    }
    writer->WritesDone();
    return writer->Finish();
  };
  auto twice = send(true, true, false);
  EXPECT_EQ(twice.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(twice.error_message().find("trailer"), std::string::npos);
  auto never = send(false, false, false);
  EXPECT_EQ(never.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(never.error_message().find("header.sha256"), std::string::npos);
  auto late = send(false, true, true);
  EXPECT_EQ(late.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(late.error_message().find("after the trailer"), std::string::npos);
  EXPECT_TRUE(send(false, true, false).ok());
}

TEST_F(RefusalsTest, HealthAndReflectionAnswerWithoutToken) {
  auto channel = client::MakeChannel(server_.target());
  auto health = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext ctx;
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  ASSERT_TRUE(health->Check(&ctx, request, &response).ok());
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);

  auto reflection =
      grpc::reflection::v1alpha::ServerReflection::NewStub(channel);
  grpc::ClientContext rctx;
  auto stream = reflection->ServerReflectionInfo(&rctx);
  grpc::reflection::v1alpha::ServerReflectionRequest list;
  list.set_list_services("");
  ASSERT_TRUE(stream->Write(list));
  stream->WritesDone();
  grpc::reflection::v1alpha::ServerReflectionResponse answer;
  ASSERT_TRUE(stream->Read(&answer));
  std::vector<std::string> services;
  for (const auto& s : answer.list_services_response().service()) {
    services.push_back(s.name());
  }
  EXPECT_NE(
      std::find(services.begin(), services.end(), "loupe.v1.RegistryService"),
      services.end());
  EXPECT_TRUE(stream->Finish().ok());
}

}  // namespace
}  // namespace loupe::testing
