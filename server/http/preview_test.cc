// Previews are drawn off the I/O threads (issue 15): one computation per
// asset however many ask, a bounded number pending (503 + Retry-After
// beyond), and the gateway's other routes (/healthz) answer meanwhile, over
// the real HttpServer with a single I/O thread.
#include "server/http/preview.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

#include "base/str_cat.h"
#include "crypto/sha256.h"
#include "server/app/config.h"
#include "server/http/gateway.h"
#include "server/http/http_server.h"
#include "server/storage/memory/memory_fixture_for_tests.h"
#include "tests/http_util.h"

namespace loupe::server::http {
namespace {

using Clock = std::chrono::steady_clock;

// A preview computation that waits until the test releases it.
struct Gate {
  std::atomic<int> calls{0};
  std::promise<void> started_promise;
  std::shared_future<void> started{started_promise.get_future().share()};
  std::promise<void> release_promise;
  std::shared_future<void> released{release_promise.get_future().share()};

  PreviewCache::Compute Compute() {
    return [this](const v1::AssetRef& asset) -> absl::StatusOr<std::string> {
      if (calls.fetch_add(1) == 0) started_promise.set_value();
      released.wait();
      return "LPV1 preview of " + asset.file_name();
    };
  }
};

v1::TwinVersion VersionWithMesh(const std::string& name) {
  v1::TwinVersion version;
  version.set_number(1);
  auto* asset = version.add_assets();
  asset->set_file_name(name);
  asset->set_role(v1::ASSET_ROLE_SCAN);
  asset->set_sha256(crypto::Sha256::HexOf(name));
  asset->set_size_bytes(100);
  return version;
}

using Result = absl::StatusOr<PreviewCache::Preview>;

TEST(PreviewCacheTest, ConcurrentRequestsShareOneComputation) {
  Gate gate;
  PreviewCache cache(nullptr, 1000, {1, 8, gate.Compute()});
  std::vector<std::promise<Result>> answers(3);
  for (auto& answer : answers) {
    cache.Get(VersionWithMesh("ring.stl"),
              [&answer](Result r) { answer.set_value(std::move(r)); });
  }
  gate.started.wait();
  gate.release_promise.set_value();
  std::vector<PreviewCache::Preview> previews;
  for (auto& answer : answers) {
    Result r = answer.get_future().get();
    ASSERT_TRUE(r.ok()) << r.status();
    previews.push_back(*r);
  }
  EXPECT_EQ(gate.calls, 1);
  EXPECT_EQ(previews[0], previews[1]);
  EXPECT_EQ(previews[0], previews[2]);
  EXPECT_EQ(*previews[0], "LPV1 preview of ring.stl");
  // Cached: answered at once, on this thread.
  bool answered = false;
  cache.Get(VersionWithMesh("ring.stl"), [&](Result r) {
    answered = true;
    EXPECT_EQ(*r, previews[0]);
  });
  EXPECT_TRUE(answered);
  EXPECT_EQ(gate.calls, 1);
}

TEST(PreviewCacheTest, PendingWorkIsBoundedAndShutdownAnswersEveryone) {
  Gate gate;
  PreviewCache cache(nullptr, 1000, {1, 2, gate.Compute()});
  std::promise<Result> first, second;
  cache.Get(VersionWithMesh("a.stl"),
            [&](Result r) { first.set_value(std::move(r)); });
  cache.Get(VersionWithMesh("b.stl"),
            [&](Result r) { second.set_value(std::move(r)); });
  gate.started.wait();
  // A third different preview: refused at once, nothing queued.
  bool refused = false;
  cache.Get(VersionWithMesh("c.stl"), [&](Result r) {
    refused = absl::IsUnavailable(r.status());
    EXPECT_NE(r.status().message().find("retry"), std::string::npos)
        << r.status();
  });
  EXPECT_TRUE(refused);
  // No mesh: NOT_FOUND at once.
  v1::TwinVersion none;
  cache.Get(none, [](Result r) { EXPECT_TRUE(absl::IsNotFound(r.status())); });
  // Shutdown while a.stl is drawn and b.stl queued: a.stl finishes, b.stl
  // is refused without being drawn.
  std::thread stopper([&] { cache.Shutdown(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  gate.release_promise.set_value();
  stopper.join();
  EXPECT_TRUE(first.get_future().get().ok());
  EXPECT_TRUE(absl::IsUnavailable(second.get_future().get().status()));
  EXPECT_EQ(gate.calls, 1);
  bool late = false;
  cache.Get(VersionWithMesh("d.stl"),
            [&](Result r) { late = absl::IsUnavailable(r.status()); });
  EXPECT_TRUE(late);
}

// The gateway over HttpServer with ONE I/O thread: while a preview is
// being drawn (held by the test), /healthz still answers at once; a second
// request for the same preview waits for the same drawing; a different one
// beyond the bound gets 503 with Retry-After. Before issue 15 the preview
// was drawn inside Handle() on the I/O thread, so /healthz waited for it.
class GatewayPreviewTest : public storage::MemoryStoreFixture {
 protected:
  void SetUp() override {
    MemoryStoreFixture::SetUp();
    auto config = ParseConfig(
        "principals { id: 'studio-aurum' role: ROLE_STUDIO studio_id: "
        "'aurum' token_sha256: '" +
        crypto::Sha256::HexOf("aurum-token") + "' }");
    ASSERT_TRUE(config.ok()) << config.status();
    policy_ = *AccessPolicy::FromConfig(*config);
    registry_ = std::make_unique<Registry>(store_.get(), policy_.get(),
                                           v1::LimitsConfig());
    v1::Piece piece;
    piece.set_id(kPiece);
    piece.set_studio_id("aurum");
    piece.set_studio_reference("R-1");
    ASSERT_TRUE(ledger_->CreatePieceAndWait(piece).ok());
    for (const char* name : {"ring.stl", "band.stl"}) {
      const std::string bytes = std::string("solid ") + name;
      auto writer = store_->BeginUpload();
      ASSERT_TRUE(writer.ok());
      ASSERT_TRUE((*writer)->Append(bytes).ok());
      ASSERT_TRUE((*writer)
                      ->Commit(bytes.size(), crypto::Sha256::Of(bytes), "aurum")
                      .ok());
      v1::TwinVersion version;
      version.set_piece_id(kPiece);
      version.set_parent_number(name[0] == 'r' ? 0 : 1);
      version.set_reason(name[0] == 'r' ? v1::VERSION_REASON_ORIGINAL
                                        : v1::VERSION_REASON_RESIZE);
      auto* asset = version.add_assets();
      asset->set_file_name(name);
      asset->set_role(v1::ASSET_ROLE_SCAN);
      asset->set_sha256(crypto::Sha256::HexOf(bytes));
      asset->set_size_bytes(bytes.size());
      auto stored = ledger_->AppendVersionAndWait(version, "aurum");
      ASSERT_TRUE(stored.ok()) << stored.status();
    }
    previews_ = std::make_unique<PreviewCache>(
        store_.get(), 1000, PreviewCache::Options{1, 1, gate_.Compute()});
    gateway_ = std::make_unique<Gateway>(Gateway::Parts{registry_.get(),
                                                        nullptr,
                                                        store_.get(),
                                                        policy_.get(),
                                                        &metrics_,
                                                        dir_.string(),
                                                        "",
                                                        {},
                                                        previews_.get(),
                                                        /*grpc_accepting=*/{},
                                                        /*more_metrics=*/{}});
    v1::HttpConfig http;
    http.set_listen_address("127.0.0.1:0");
    http.set_threads(1);
    http.set_read_timeout_ms(10000);
    http.set_max_header_bytes(8192);
    http.set_max_body_bytes(65536);
    auto server =
        HttpServer::Start(http, v1::TlsConfig(), gateway_.get(), &metrics_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }
  void TearDown() override {
    if (!released_) gate_.release_promise.set_value();
    previews_->Shutdown();
    server_.reset();
    gateway_.reset();
    previews_.reset();
    MemoryStoreFixture::TearDown();
  }

  std::string Get(const std::string& target, int timeout_s = 10) {
    return testing::HttpExchange(
        server_->port(),
        "GET " + target +
            " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer aurum-token\r\n"
            "Connection: close\r\n\r\n",
        0, SIZE_MAX, timeout_s);
  }

  static constexpr char kPiece[] = "pc_bbbbbbbbbbbbbbbbbbbbbbbbbb";
  Gate gate_;
  bool released_ = false;
  std::unique_ptr<AccessPolicy> policy_;
  std::unique_ptr<Registry> registry_;
  Metrics metrics_;
  std::unique_ptr<PreviewCache> previews_;
  std::unique_ptr<Gateway> gateway_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(GatewayPreviewTest, HealthzAnswersWhilePreviewsAreDrawn) {
  const std::string preview =
      StrCat("/api/v1/pieces/", kPiece, "/versions/1/preview");
  auto first = std::async(std::launch::async, [&] { return Get(preview); });
  ASSERT_EQ(gate_.started.wait_for(std::chrono::seconds(10)),
            std::future_status::ready);
  auto again = std::async(std::launch::async, [&] { return Get(preview); });
  // The single I/O thread is free: /healthz answers at once.
  const auto start = Clock::now();
  const std::string health = Get("/healthz", 5);
  const double seconds =
      std::chrono::duration<double>(Clock::now() - start).count();
  EXPECT_NE(health.find("200 OK"), std::string::npos) << health;
  EXPECT_LT(seconds, 2.0);
  // Another preview beyond the bound (1 pending): 503, retry shortly.
  const std::string busy =
      Get(StrCat("/api/v1/pieces/", kPiece, "/versions/2/preview"), 5);
  EXPECT_NE(busy.find("503"), std::string::npos) << busy;
  EXPECT_NE(busy.find("Retry-After: 1"), std::string::npos) << busy;
  EXPECT_EQ(first.wait_for(std::chrono::milliseconds(0)),
            std::future_status::timeout);
  gate_.release_promise.set_value();
  released_ = true;
  for (auto* reply : {&first, &again}) {
    const std::string r = reply->get();
    EXPECT_NE(r.find("200 OK"), std::string::npos) << r;
    EXPECT_NE(r.find("LPV1 preview of ring.stl"), std::string::npos) << r;
  }
  EXPECT_EQ(gate_.calls, 1);  // Both requests, one drawing.
}

}  // namespace
}  // namespace loupe::server::http
