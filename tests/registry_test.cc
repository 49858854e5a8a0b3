// RegistryService end to end: a real loupe-server on port 0, driven over gRPC.
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <set>

#include "tests/test_server.h"
#include "tests/test_util.h"

namespace loupe::testing {
namespace {

using google::protobuf::util::MessageDifferencer;

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(server_.Start());
    aurum_ = server_.Client(kAurumToken);
  }

  v1::Piece NewPiece(const std::string& reference) {
    auto piece = aurum_->CreatePiece(PieceRequest("aurum", reference));
    EXPECT_TRUE(piece.ok()) << piece.status();
    return *piece;
  }

  TestServer server_;
  std::unique_ptr<client::RegistryClient> aurum_;
};

TEST_F(RegistryTest, CreatePieceAssignsUnguessableIdAndServerFields) {
  auto a = NewPiece("A-1");
  auto b = NewPiece("A-2");
  EXPECT_EQ(a.id().size(), 29u);
  EXPECT_EQ(a.id().substr(0, 3), "pc_");
  EXPECT_NE(a.id(), b.id());
  EXPECT_EQ(a.studio_id(), "aurum");
  EXPECT_EQ(a.status(), v1::PIECE_STATUS_ACTIVE);
  EXPECT_EQ(a.current_version(), 0u);
  EXPECT_GT(a.created_at().seconds(), 1700000000);
  auto got = aurum_->GetPiece(a.id());
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(MessageDifferencer::Equals(*got, a));
  EXPECT_STATUS(aurum_->CreatePiece(PieceRequest("aurum", "A-1")).status(),
                kAlreadyExists, a.id());
}

TEST_F(RegistryTest, VersionsChainAndCannotBeAltered) {
  auto piece = NewPiece("A-1");
  const std::string cad = TestBytes(150000, 1);
  ASSERT_TRUE(aurum_->UploadBytes(HeaderFor(cad), cad).ok());
  auto first = VersionRequest(piece.id(), 0, v1::VERSION_REASON_ORIGINAL);
  auto* v = first.mutable_version();
  *v->add_assets() = CadAsset(cad);
  v->mutable_assay()->set_alloy("18k rose gold");
  v->mutable_assay()->set_fineness_per_mille(750);
  v->add_hallmarks()->set_sponsor_mark("AUR");
  v->add_stones()->set_carat(1.02);
  v->add_production()->set_kind(v1::PRODUCTION_STEP_KIND_LOST_WAX_CASTING);
  v->mutable_ring_size()->set_system(v1::RING_SIZE_SYSTEM_US);
  v->mutable_ring_size()->set_value("7");
  // Server-owned fields are not the client's to set.
  v->set_number(99);
  v->set_author("mallory");
  v->add_geometry()->set_volume_mm3(1);
  auto v1 = aurum_->AddVersion(first);
  ASSERT_TRUE(v1.ok()) << v1.status();
  EXPECT_EQ(v1->number(), 1u);
  EXPECT_EQ(v1->author(), "studio-aurum");
  EXPECT_EQ(v1->geometry_size(), 0);
  EXPECT_EQ(v1->assay().alloy(), "18k rose gold");

  auto resize = VersionRequest(piece.id(), 1, v1::VERSION_REASON_RESIZE);
  resize.mutable_version()->set_note("US 7 -> 7 1/2");
  *resize.mutable_version()->add_assets() = CadAsset(cad);
  auto v2 = aurum_->AddVersion(resize);
  ASSERT_TRUE(v2.ok()) << v2.status();
  EXPECT_EQ(v2->number(), 2u);
  EXPECT_EQ(v2->parent_number(), 1u);

  // Writing another child of version 1 (an overwrite of history) fails.
  auto rewrite = VersionRequest(piece.id(), 1, v1::VERSION_REASON_CORRECTION);
  EXPECT_STATUS(aurum_->AddVersion(rewrite).status(), kAborted,
                "parent_number");
  EXPECT_TRUE(
      MessageDifferencer::Equals(*aurum_->GetVersion(piece.id(), 1), *v1));
  EXPECT_TRUE(
      MessageDifferencer::Equals(*aurum_->GetVersion(piece.id(), 0), *v2));
  EXPECT_EQ(aurum_->GetPiece(piece.id())->current_version(), 2u);
  EXPECT_STATUS(aurum_->GetVersion(piece.id(), 3).status(), kNotFound,
                "number");

  v1::ListVersionsRequest list;
  list.set_piece_id(piece.id());
  auto versions = aurum_->ListVersions(list);
  ASSERT_TRUE(versions.ok());
  ASSERT_EQ(versions->versions_size(), 2);
  EXPECT_TRUE(MessageDifferencer::Equals(versions->versions(1), *v2));
  EXPECT_TRUE(versions->next_page_token().empty());

  // Still there, unchanged, after a restart.
  EXPECT_EQ(server_.Stop(), 0) << server_.log();
  ASSERT_OK(server_.Start());
  auto again = server_.Client(kInsurerToken)->GetVersion(piece.id(), 1);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(MessageDifferencer::Equals(*again, *v1));
}

TEST_F(RegistryTest, CreatePieceWithFirstVersionIsAtomic) {
  const std::string cad = TestBytes(40000, 11);
  ASSERT_TRUE(aurum_->UploadBytes(HeaderFor(cad), cad).ok());
  auto request = PieceRequest("aurum", "A-ATOMIC");
  auto* first = request.mutable_first_version();
  *first->add_assets() = CadAsset(cad);
  first->mutable_assay()->set_alloy("Pt950");
  auto piece = aurum_->CreatePiece(request);
  ASSERT_TRUE(piece.ok()) << piece.status();
  EXPECT_EQ(piece->current_version(), 1u);
  auto v1 = aurum_->GetVersion(piece->id(), 1);
  ASSERT_TRUE(v1.ok());
  EXPECT_EQ(v1->reason(), v1::VERSION_REASON_ORIGINAL);
  EXPECT_EQ(v1->author(), "studio-aurum");
  EXPECT_EQ(v1->assay().alloy(), "Pt950");
  EXPECT_EQ(v1->assets(0).sha256(), crypto::Sha256::HexOf(cad));

  // Refused first versions leave no piece: the reference stays free.
  auto bad = PieceRequest("aurum", "A-REFUSED");
  bad.mutable_first_version()->mutable_assay()->set_fineness_per_mille(2000);
  EXPECT_STATUS(aurum_->CreatePiece(bad).status(), kInvalidArgument,
                "first_version.assay.fineness_per_mille");
  bad.mutable_first_version()->clear_assay();
  *bad.mutable_first_version()->add_assets() = CadAsset("not uploaded");
  EXPECT_STATUS(aurum_->CreatePiece(bad).status(), kFailedPrecondition,
                "first_version.assets[0].sha256");
  bad.mutable_first_version()->set_parent_number(3);
  EXPECT_STATUS(aurum_->CreatePiece(bad).status(), kInvalidArgument,
                "first_version.parent_number");
  v1::ListPiecesRequest list;
  list.set_studio_id("aurum");
  EXPECT_EQ(aurum_->ListPieces(list)->pieces_size(), 1);
  EXPECT_TRUE(aurum_->CreatePiece(PieceRequest("aurum", "A-REFUSED")).ok());
}

TEST_F(RegistryTest, ListPiecesPagesByStudioWithoutGapsOrRepeats) {
  std::set<std::string> aurum_ids;
  for (int i = 0; i < 23; ++i)
    aurum_ids.insert(NewPiece("A-" + std::to_string(i)).id());
  auto bellini = server_.Client(kBelliniToken);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(
        bellini->CreatePiece(PieceRequest("bellini", "B" + std::to_string(i)))
            .ok());
  }
  v1::ListPiecesRequest request;
  request.set_studio_id("aurum");
  request.set_page_size(5);
  std::set<std::string> seen;
  int pages = 0;
  do {
    auto page = aurum_->ListPieces(request);
    ASSERT_TRUE(page.ok()) << page.status();
    EXPECT_LE(page->pieces_size(), 5);
    for (const auto& p : page->pieces()) {
      EXPECT_EQ(p.studio_id(), "aurum");
      EXPECT_TRUE(seen.insert(p.id()).second) << "repeated " << p.id();
    }
    request.set_page_token(page->next_page_token());
    ++pages;
  } while (!request.page_token().empty());
  EXPECT_EQ(seen, aurum_ids);
  EXPECT_EQ(pages, 5);
  v1::ListPiecesRequest all;
  all.set_page_size(1000);
  EXPECT_EQ(aurum_->ListPieces(all)->pieces_size(), 28);
  all.set_page_token("not-a-token");
  EXPECT_STATUS(aurum_->ListPieces(all).status(), kInvalidArgument,
                "page_token");
  all.clear_page_token();
  all.set_page_size(5000);
  EXPECT_STATUS(aurum_->ListPieces(all).status(), kInvalidArgument,
                "page_size");
}

TEST_F(RegistryTest, ListVersionsPages) {
  auto piece = NewPiece("A-1");
  for (uint32_t n = 0; n < 12; ++n) {
    ASSERT_TRUE(
        aurum_
            ->AddVersion(VersionRequest(piece.id(), n,
                                        n == 0 ? v1::VERSION_REASON_ORIGINAL
                                               : v1::VERSION_REASON_REFINISH))
            .ok());
  }
  v1::ListVersionsRequest request;
  request.set_piece_id(piece.id());
  request.set_page_size(5);
  std::vector<uint32_t> numbers;
  do {
    auto page = aurum_->ListVersions(request);
    ASSERT_TRUE(page.ok());
    for (const auto& v : page->versions()) numbers.push_back(v.number());
    request.set_page_token(page->next_page_token());
  } while (!request.page_token().empty());
  ASSERT_EQ(numbers.size(), 12u);
  for (uint32_t i = 0; i < 12; ++i) EXPECT_EQ(numbers[i], i + 1);
}

// The embedded engine gains nothing from a digest up front: the server
// says so at once, and the client then hashes while sending
// (client/registry_client_test.cc).
TEST_F(RegistryTest, UploadsSayAtOnceThatTheDigestMayComeLast) {
  grpc::ClientContext ctx;
  aurum_->Prepare(&ctx, 30);
  v1::UploadAssetResponse response;
  auto writer = aurum_->stub().UploadAsset(&ctx, &response);
  writer->WaitForInitialMetadata();  // Before any message is sent.
  const auto& metadata = ctx.GetServerInitialMetadata();
  const auto said = metadata.find("loupe-digest-first-above");
  ASSERT_NE(said, metadata.end());
  EXPECT_EQ(std::string(said->second.data(), said->second.size()), "never");
  ctx.TryCancel();
  writer->Finish();
}

TEST_F(RegistryTest, AssetsRoundTripDeduplicateAndAreReadOnlyByGrantees) {
  const std::string bytes = TestBytes(3 * (1 << 20) + 777, 2);
  auto up = aurum_->UploadBytes(HeaderFor(bytes), bytes);
  ASSERT_TRUE(up.ok()) << up.status();
  EXPECT_FALSE(up->deduplicated());
  EXPECT_EQ(up->size_bytes(), bytes.size());
  auto again = aurum_->UploadBytes(HeaderFor(bytes), bytes);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->deduplicated());

  auto piece = NewPiece("A-1");
  auto request = VersionRequest(piece.id(), 0, v1::VERSION_REASON_ORIGINAL);
  *request.mutable_version()->add_assets() = CadAsset(bytes);
  ASSERT_TRUE(aurum_->AddVersion(request).ok());

  v1::DownloadAssetRequest download;
  download.set_sha256(up->sha256());
  download.set_piece_id(piece.id());
  for (const char* token : {kAurumToken, kBenchToken, kAdminToken}) {
    auto got = server_.Client(token)->DownloadBytes(download);
    ASSERT_TRUE(got.ok()) << token << ": " << got.status();
    EXPECT_TRUE(*got == bytes);
  }
  for (const char* token : {kInsurerToken, kBelliniToken}) {
    EXPECT_STATUS(server_.Client(token)->DownloadBytes(download).status(),
                  kPermissionDenied, "may not read");
  }
  // Without a piece: only the uploading studio.
  download.clear_piece_id();
  EXPECT_TRUE(aurum_->DownloadBytes(download).ok());
  EXPECT_STATUS(server_.Client(kBenchToken)->DownloadBytes(download).status(),
                kPermissionDenied, "piece_id");
  // An asset that is not part of the piece is not reachable through it.
  const std::string other = TestBytes(1000, 3);
  ASSERT_TRUE(aurum_->UploadBytes(HeaderFor(other), other).ok());
  download.set_piece_id(piece.id());
  download.set_sha256(crypto::Sha256::HexOf(other));
  EXPECT_STATUS(server_.Client(kBenchToken)->DownloadBytes(download).status(),
                kNotFound, "sha256");
}

}  // namespace
}  // namespace loupe::testing
