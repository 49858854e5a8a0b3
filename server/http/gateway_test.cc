// The gateway's router without sockets, over a real store in a temporary
// directory: routes, access rules, refusals, and what /metrics and /readyz
// say. Tiles and certificates are checked against a running server in
// tests/http_test.cc.
#include "server/http/gateway.h"

#include <gtest/gtest.h>

#include <future>

#include "crypto/sha256.h"
#include "server/app/config.h"
#include "server/storage/memory/memory_fixture_for_tests.h"

namespace loupe::server::http {
namespace {

// A request from no particular peer, without a body.
Request MakeRequest(std::string method, std::string target,
                    std::string authorization = "") {
  Request r;
  r.method = std::move(method);
  r.target = std::move(target);
  r.authorization = std::move(authorization);
  return r;
}

class GatewayTest : public storage::MemoryStoreFixture {
 protected:
  void SetUp() override {
    MemoryStoreFixture::SetUp();
    auto config = ParseConfig(
        "principals { id: 'studio-aurum' role: ROLE_STUDIO studio_id: "
        "'aurum' token_sha256: '" +
        crypto::Sha256::HexOf("aurum-token") +
        "' } principals { id: 'ops' role: ROLE_ADMIN token_sha256: '" +
        crypto::Sha256::HexOf("ops-token") + "' }");
    ASSERT_TRUE(config.ok()) << config.status();
    auto policy = AccessPolicy::FromConfig(*config);
    ASSERT_TRUE(policy.ok());
    policy_ = *std::move(policy);
    registry_ = std::make_unique<Registry>(store_.get(), policy_.get(),
                                           v1::LimitsConfig());
    gateway_ = std::make_unique<Gateway>(
        Gateway::Parts{registry_.get(),
                       nullptr,
                       store_.get(),
                       policy_.get(),
                       &metrics_,
                       dir_.string(),
                       "",
                       {},
                       nullptr,
                       [this] { return grpc_accepting_; },
                       [] { return std::string("loupe_connections 3\n"); }});
    v1::Piece piece;
    piece.set_id(kPiece);
    piece.set_studio_id("aurum");
    piece.set_studio_reference("R-1");
    piece.set_title("Solitaire <b>ring</b>");
    piece.add_asset_readers("bench-7");
    std::promise<absl::Status> done;
    ledger_->CreatePiece(piece, std::nullopt,
                         [&](absl::Status s) { done.set_value(s); });
    ASSERT_TRUE(done.get_future().get().ok());
  }

  Response Get(const std::string& target, const std::string& auth = "") {
    return gateway_->Handle(MakeRequest("GET", target, auth));
  }

  static constexpr char kPiece[] = "pc_aaaaaaaaaaaaaaaaaaaaaaaaaa";
  absl::Status grpc_accepting_;  // What the gateway hears of gRPC.
  std::unique_ptr<AccessPolicy> policy_;
  std::unique_ptr<Registry> registry_;
  Metrics metrics_;
  std::unique_ptr<Gateway> gateway_;
};

TEST_F(GatewayTest, PublicFactsAreJsonWithoutAToken) {
  Response r = Get(std::string("/api/v1/pieces/") + kPiece);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_NE(r.body.find("\"studio_reference\":\"R-1\""), std::string::npos)
      << r.body;
  // Who may read the files is not shown to anonymous callers...
  EXPECT_EQ(r.body.find("bench-7"), std::string::npos);
  // ...but is to a known principal.
  r = Get(std::string("/api/v1/pieces/") + kPiece, "Bearer aurum-token");
  EXPECT_NE(r.body.find("bench-7"), std::string::npos);
  EXPECT_EQ(r.route, "/api/v1/pieces/{id}");
}

TEST_F(GatewayTest, ErrorsSayWhatIsWrongWithTheRightStatus) {
  Response r = Get("/api/v1/pieces/pc_nothere");
  EXPECT_EQ(r.status, 400);  // Not a well-formed piece id.
  EXPECT_NE(r.body.find("piece_id"), std::string::npos) << r.body;
  r = Get("/api/v1/pieces/pc_bbbbbbbbbbbbbbbbbbbbbbbbbb");
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_NE(r.body.find("\"code\":\"NOT_FOUND\""), std::string::npos);
  r = Get(std::string("/api/v1/pieces/") + kPiece, "Bearer wrong");
  EXPECT_EQ(r.status, 401);
  r = Get("/api/v1/certificates/ct_zz");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("certificate_id"), std::string::npos);
  r = Get(std::string("/api/v1/pieces/") + kPiece + "/versions/x");
  EXPECT_EQ(r.status, 400);
  r = Get("/api/v1/log/checkpoint");  // No signing key here.
  EXPECT_EQ(r.status, 409);
  r = Get("/api/v1/nothing");
  EXPECT_EQ(r.status, 404);
  r = Get("/nowhere");
  EXPECT_EQ(r.status, 404);
}

TEST_F(GatewayTest, TraversalEscapesAndOddMethodsAreRefused) {
  for (const char* target : {"/web/../../etc/passwd", "/web/%2e%2e/secret",
                             "/api/v1/pieces/..", "/verify/./x", "//etc/passwd",
                             "/web/a\\b", "relative", "/api/v1/pieces/a%00b"}) {
    Response r = Get(target);
    EXPECT_EQ(r.status, 400) << target << ": " << r.body;
  }
  Response r = Get("/api/v1/pieces/" + std::string(300, 'a'));
  EXPECT_EQ(r.status, 400);
  r = Get("/" + std::string(5000, 'a'));
  EXPECT_EQ(r.status, 414);
  r = gateway_->Handle(MakeRequest("POST", "/api/v1/pieces"));
  EXPECT_EQ(r.status, 405);
  r = gateway_->Handle(
      MakeRequest("DELETE", std::string("/api/v1/pieces/") + kPiece));
  EXPECT_EQ(r.status, 405);
  // HEAD: the same status and length, no body.
  r = gateway_->Handle(MakeRequest("HEAD", "/healthz"));
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.body.empty());
}

TEST_F(GatewayTest, HealthReadinessAndMetrics) {
  EXPECT_EQ(Get("/healthz").status, 200);
  EXPECT_EQ(Get("/readyz").status, 200);
  metrics_.Record("http", "/healthz", "200", 0.001);
  metrics_.Record("grpc", "/loupe.v1.RegistryService/GetPiece", "OK", 0.5);
  Response m = Get("/metrics", "Bearer ops-token");
  EXPECT_EQ(m.status, 200) << m.body;
  EXPECT_NE(m.body.find("loupe_requests_total{protocol=\"grpc\",name=\"/loupe."
                        "v1.RegistryService/GetPiece\",code=\"OK\"} 1"),
            std::string::npos)
      << m.body;
  EXPECT_NE(m.body.find("loupe_request_seconds_sum{protocol=\"grpc\""),
            std::string::npos);
  EXPECT_NE(m.body.find("loupe_log_entries "), std::string::npos);
  EXPECT_NE(m.body.find("loupe_storage_bytes "), std::string::npos);
  EXPECT_NE(m.body.find("loupe_connections 3\n"), std::string::npos);
  // gRPC taking no new connections makes the registry not ready, saying why.
  grpc_accepting_ = absl::UnavailableError(
      "grpc: at limits.max_connections (384 open connections)");
  Response full = Get("/readyz");
  EXPECT_EQ(full.status, 503);
  EXPECT_EQ(full.body,
            "grpc: at limits.max_connections (384 open connections)\n");
  EXPECT_EQ(Get("/healthz").status, 200);
  grpc_accepting_ = absl::OkStatus();
  EXPECT_EQ(Get("/readyz").status, 200);
  gateway_->SetDraining();
  EXPECT_EQ(Get("/readyz").status, 503);
  EXPECT_EQ(Get("/healthz").status, 200);
}

// Issue 15: /metrics was public. It needs an admin's token unless
// http.public_metrics is set.
TEST_F(GatewayTest, MetricsAreForAdminsUnlessMadePublic) {
  Response r = Get("/metrics");
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_NE(r.body.find("public_metrics"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("loupe_requests_total"), std::string::npos);
  r = Get("/metrics", "Bearer aurum-token");
  EXPECT_EQ(r.status, 403) << r.body;
  r = Get("/metrics", "Bearer wrong-token");
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_EQ(Get("/metrics", "Bearer ops-token").status, 200);
  Gateway open(Gateway::Parts{registry_.get(),
                              nullptr,
                              store_.get(),
                              policy_.get(),
                              &metrics_,
                              dir_.string(),
                              "",
                              {},
                              nullptr,
                              /*grpc_accepting=*/{},
                              /*more_metrics=*/{},
                              /*public_metrics=*/true});
  r = open.Handle(MakeRequest("GET", "/metrics"));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("loupe_log_entries"), std::string::npos);
}

// Issue 15: no gateway page may be framed (clickjacking the verdict).
TEST_F(GatewayTest, NoPageMayBeFramed) {
  for (const char* target :
       {"/verify/ct_0123456789abcdef0123456789abcdef", "/healthz",
        "/api/v1/pieces/pc_aaaaaaaaaaaaaaaaaaaaaaaaaa", "/nowhere"}) {
    Response r = Get(target);
    int policies = 0;
    for (const auto& [name, value] : r.headers) {
      if (name != "Content-Security-Policy") continue;
      ++policies;
      EXPECT_NE(value.find("frame-ancestors 'none'"), std::string::npos)
          << target << ": " << value;
    }
    EXPECT_EQ(policies, 1) << target;
  }
}

TEST_F(GatewayTest, TilesWithoutTheEntriesAreNotFound) {
  // Creating a piece logs nothing: the log is empty.
  Response r = Get("/tile/entries/000.p/1");
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_NE(r.body.find("does not have these entries"), std::string::npos);
  r = Get("/tile/0/000");  // A full tile needs 256 entries.
  EXPECT_EQ(r.status, 404);
  r = Get("/tile/0/x000/001");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("index"), std::string::npos);
  // Issue 15: index 2^56 wrapped to tile 0 and was served with 200.
  r = Get("/tile/0/x072/x057/x594/x037/x927/936.p/1");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("beyond any log"), std::string::npos) << r.body;
}

TEST_F(GatewayTest, TheVerifyPageOfAnUnknownCertificateSaysUnknown) {
  Response r = Get("/verify/ct_0123456789abcdef0123456789abcdef");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_NE(r.body.find("data-verdict=\"unknown\""), std::string::npos);
  r = Get("/verify/<script>");
  EXPECT_EQ(r.status, 400);
}

}  // namespace
}  // namespace loupe::server::http

namespace loupe::server::http {
namespace {

TEST_F(GatewayTest, TheVerifyPageSpeaksTheReadersLanguage) {
  Request french =
      MakeRequest("GET", "/verify/ct_0123456789abcdef0123456789abcdef");
  french.accept_language = "fr-CH, en;q=0.5";
  Response r = gateway_->Handle(french);
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("<html lang=\"fr-ch\">"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("<h1>Inconnu</h1>"), std::string::npos) << r.body;
  const auto header = [&](std::string_view name) {
    for (const auto& [k, v] : r.headers) {
      if (k == name) return v;
    }
    return std::string();
  };
  EXPECT_EQ(header("Content-Language"), "fr");
  EXPECT_EQ(header("Vary"), "Accept-Language");
  // The switch (?lang=) wins over the header.
  french.target += "?lang=ja";
  r = gateway_->Handle(french);
  EXPECT_NE(r.body.find("<h1>不明</h1>"), std::string::npos) << r.body;
  // Percent-escapes reach only the verify page (a GS1 serial); elsewhere
  // they are refused as before.
  EXPECT_EQ(Get("/verify/ct_0123456789abcdef0123456789abcdef/01/"
                "04006381333931/21/R%2F1")
                .status,
            404);
  EXPECT_EQ(Get("/api/v1/pieces/pc%2F1").status, 400);
}

}  // namespace
}  // namespace loupe::server::http
