// Limits from the configuration, on a real server: a principal over its
// request rate gets RESOURCE_EXHAUSTED naming it (others are unaffected,
// and it recovers); anonymous HTTP callers over theirs get 429 with
// Retry-After; a mesh over limits.max_mesh_triangles is refused naming the
// asset and the limit. The server stays up through all of it.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <thread>

#include "geometry/test_meshes.h"
#include "tests/http_util.h"
#include "tests/test_server.h"
#include "tests/test_util.h"

namespace loupe::testing {
namespace {

// The limits a test does not exercise: as in every TestServer.
constexpr char kUnlimited[] =
    "max_asset_bytes: 268435456 requests_per_second: 1000000 "
    "anonymous_requests_per_second: 1000000 ";

// How many requests a bucket of `per_second` has regained since `start`,
// rounded up, plus one for a refill landing between the calls.
int Refilled(std::chrono::steady_clock::time_point start, int per_second) {
  const std::chrono::duration<double> elapsed =
      std::chrono::steady_clock::now() - start;
  return static_cast<int>(std::ceil(elapsed.count() * per_second)) + 1;
}

TEST(LimitsTest, RatesPerPrincipalAndPerAddress) {
  TestServer server;
  server.SetLimits(
      "max_asset_bytes: 268435456 requests_per_second: 5 "
      "anonymous_requests_per_second: 3");
  ASSERT_OK(server.Start());
  auto aurum = server.Client(kAurumToken);
  int ok = 0, limited = 0;
  std::string message;
  const auto burst_start = std::chrono::steady_clock::now();
  for (int i = 0; i < 30; ++i) {
    auto r = aurum->ListPieces({});
    if (r.ok()) {
      ++ok;
    } else if (r.status().code() == absl::StatusCode::kResourceExhausted) {
      ++limited;
      message = std::string(r.status().message());
    }
  }
  // A burst of twice the rate, then refusals: at most what refilled while
  // the calls ran (a slow sanitizer build takes a good part of a second).
  EXPECT_GE(ok, 10);
  EXPECT_LE(ok, 10 + Refilled(burst_start, 5));
  EXPECT_GT(limited, 0);
  EXPECT_EQ(ok + limited, 30);
  EXPECT_NE(message.find("rate: principal studio-aurum is over 5 requests"),
            std::string::npos)
      << message;
  // Another principal has its own rate; aurum recovers with time.
  EXPECT_TRUE(server.Client(kBenchToken)->ListPieces({}).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_TRUE(aurum->ListPieces({}).ok());

  // Anonymous HTTP callers, by address: 429 with Retry-After.
  int too_many = 0;
  std::string refused;
  const auto http_start = std::chrono::steady_clock::now();
  for (int i = 0; i < 15; ++i) {
    const HttpReply reply =
        HttpGet(server.http_port(), "/api/v1/log/checkpoint");
    if (reply.status == 429) {
      ++too_many;
      refused = reply.head + reply.body;
    }
  }
  ASSERT_GT(too_many, 0);
  EXPECT_GE(too_many, 15 - 6 - Refilled(http_start, 3));
  EXPECT_NE(refused.find("Retry-After: 1"), std::string::npos) << refused;
  EXPECT_NE(refused.find("RESOURCE_EXHAUSTED"), std::string::npos);
  // Health is never rate-limited.
  EXPECT_EQ(HttpGet(server.http_port(), "/healthz").status, 200);
}

TEST(LimitsTest, MeshesOverTheTriangleLimitAreRefusedNamingIt) {
  TestServer server;
  server.SetLimits(std::string(kUnlimited) + "max_mesh_triangles: 500");
  ASSERT_OK(server.Start());
  auto aurum = server.Client(kAurumToken);
  // 1,024 triangles.
  const std::string stl =
      geometry::testing::WriteStlBinary(geometry::testing::Band({}));
  auto header = HeaderFor(stl);
  header.set_file_name("ring.stl");
  ASSERT_TRUE(aurum->UploadBytes(header, stl).ok());
  auto request = PieceRequest("aurum", "BIG-1");
  request.mutable_first_version()->set_reason(v1::VERSION_REASON_ORIGINAL);
  v1::AssetRef asset = CadAsset(stl);
  asset.set_file_name("ring.stl");
  *request.mutable_first_version()->add_assets() = asset;
  auto piece = aurum->CreatePiece(request);
  EXPECT_STATUS(piece.status(), kResourceExhausted,
                "first_version.assets[0]: ring.stl");
  EXPECT_NE(piece.status().message().find("limits.max_mesh_triangles: 500"),
            std::string::npos)
      << piece.status();
  EXPECT_TRUE(aurum->ListPieces({})->pieces().empty());
}

// An upload that trickles its chunks past limits.max_call_seconds is cut
// off with RESOURCE_EXHAUSTED naming the limit, and nothing is stored.
TEST(LimitsTest, AStreamedCallOverTheTimeLimitIsCutOff) {
  TestServer server;
  server.SetLimits(std::string(kUnlimited) + "max_call_seconds: 1");
  ASSERT_OK(server.Start());
  auto aurum = server.Client(kAurumToken);
  const std::string bytes = TestBytes(4000, 9);
  grpc::ClientContext ctx;
  aurum->Prepare(&ctx, 30);
  v1::UploadAssetResponse response;
  auto writer = aurum->stub().UploadAsset(&ctx, &response);
  v1::UploadAssetRequest message;
  *message.mutable_header() = HeaderFor(bytes);
  ASSERT_TRUE(writer->Write(message));
  for (int i = 0; i < 4; ++i) {  // 1,000 bytes every 0.5 s.
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    message.Clear();
    message.set_chunk(bytes.substr(i * 1000, 1000));
    if (!writer->Write(message)) break;
  }
  writer->WritesDone();
  const grpc::Status s = writer->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << s.error_message();
  EXPECT_NE(s.error_message().find("limits.max_call_seconds"),
            std::string::npos)
      << s.error_message();
  v1::DownloadAssetRequest d;
  d.set_sha256(HeaderFor(bytes).sha256());
  EXPECT_FALSE(aurum->DownloadBytes(d).ok());
  // A prompt upload still goes through.
  EXPECT_TRUE(aurum->UploadBytes(HeaderFor(bytes), bytes).ok());
}

}  // namespace
}  // namespace loupe::testing
