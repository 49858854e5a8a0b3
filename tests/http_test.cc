// The HTTP gateway of a real loupe-server, over real sockets: the JSON API,
// the verify page's verdicts, the log as C2SP tiles (checked against the
// signed checkpoint's root), health and metrics; and every kind of bad
// request, after which the server still answers.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "crypto/merkle.h"
#include "crypto/sha256.h"
#include "tests/http_util.h"
#include "tests/log_util.h"
#include "tests/test_server.h"
#include "tests/test_util.h"

namespace loupe::testing {
namespace {

using Clock = std::chrono::steady_clock;

class HttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.EnableSigning();
    ASSERT_OK(server_.Start());
    port_ = server_.http_port();
    ASSERT_GT(port_, 0);
    aurum_ = server_.Client(kAurumToken);
  }

  // A piece with version 1 and its certificate.
  v1::Certificate Certified(const std::string& reference) {
    auto request = PieceRequest("aurum", reference);
    request.mutable_first_version()->set_reason(v1::VERSION_REASON_ORIGINAL);
    auto piece = aurum_->CreatePiece(request);
    EXPECT_TRUE(piece.ok()) << piece.status();
    auto certificate = aurum_->IssueCertificate(piece->id(), 0);
    EXPECT_TRUE(certificate.ok()) << certificate.status();
    return certificate.value_or(v1::Certificate());
  }

  TestServer server_;
  int port_ = 0;
  std::unique_ptr<client::RegistryClient> aurum_;
};

TEST_F(HttpTest, CertificatesAndTheVerifyPageTellTheTruth) {
  const v1::Certificate cert = Certified("H-1");
  HttpReply json = HttpGet(port_, "/api/v1/certificates/" + cert.id());
  ASSERT_EQ(json.status, 200) << json.head << json.body;
  EXPECT_NE(json.head.find("application/json"), std::string::npos);
  EXPECT_NE(json.body.find("\"id\":\"" + cert.id() + "\""), std::string::npos);
  EXPECT_NE(json.body.find("\"bundle_json\""), std::string::npos);
  HttpReply page = HttpGet(port_, "/verify/" + cert.id());
  ASSERT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("data-verdict=\"ok\""), std::string::npos);
  EXPECT_NE(page.body.find("<h1>Authentic</h1>"), std::string::npos);
  EXPECT_NE(page.body.find(cert.piece_id()), std::string::npos);

  // An insurer reports it stolen: the page says so at once.
  auto insurer = server_.Client(kInsurerToken);
  v1::ChangeStatusRequest stolen;
  stolen.set_piece_id(cert.piece_id());
  stolen.set_action(v1::STATUS_ACTION_REPORT_STOLEN);
  stolen.set_reason("claim <script>alert(1)</script>");
  auto changed =
      insurer->Call<v1::Piece>(stolen, [&](auto* ctx, auto& rq, auto* rs) {
        return insurer->stub().ChangeStatus(ctx, rq, rs);
      });
  ASSERT_TRUE(changed.ok()) << changed.status();
  page = HttpGet(port_, "/verify/" + cert.id());
  EXPECT_NE(page.body.find("data-verdict=\"bad\""), std::string::npos);
  // The report grew the log: the certificate's JSON (kept per log size)
  // now carries a proof against the newer checkpoint.
  HttpReply again = HttpGet(port_, "/api/v1/certificates/" + cert.id());
  EXPECT_EQ(again.status, 200);
  EXPECT_NE(again.body, json.body);
  EXPECT_EQ(HttpGet(port_, "/api/v1/certificates/" + cert.id()).body,
            again.body);
  EXPECT_NE(page.body.find("<h1>Reported stolen</h1>"), std::string::npos);
  // What came from a caller is escaped, never markup.
  EXPECT_EQ(page.body.find("<script>"), std::string::npos);
  EXPECT_NE(page.body.find("&lt;script&gt;"), std::string::npos);
  HttpReply status =
      HttpGet(port_, "/api/v1/pieces/" + cert.piece_id() + "/status");
  EXPECT_EQ(status.status, 200) << status.body;
}

TEST_F(HttpTest, AssetBytesNeedATokenWithReadAccess) {
  const std::string bytes = TestBytes(200000, 7);
  ASSERT_TRUE(aurum_->UploadBytes(HeaderFor(bytes), bytes).ok());
  auto request = PieceRequest("aurum", "ASSET-1");
  request.mutable_first_version()->set_reason(v1::VERSION_REASON_ORIGINAL);
  *request.mutable_first_version()->add_assets() = CadAsset(bytes);
  auto piece = aurum_->CreatePiece(request);
  ASSERT_TRUE(piece.ok()) << piece.status();
  const std::string target = "/api/v1/assets/" + crypto::Sha256::HexOf(bytes) +
                             "?piece_id=" + piece->id();
  HttpReply anonymous = HttpGet(port_, target);
  EXPECT_EQ(anonymous.status, 401) << anonymous.body;
  EXPECT_NE(anonymous.head.find("WWW-Authenticate: Bearer"), std::string::npos);
  HttpReply insurer =
      HttpGet(port_, target,
              std::string("Authorization: Bearer ") + kInsurerToken + "\r\n");
  EXPECT_EQ(insurer.status, 403) << insurer.body;
  HttpReply bench =
      HttpGet(port_, target,
              std::string("Authorization: Bearer ") + kBenchToken + "\r\n");
  ASSERT_EQ(bench.status, 200) << bench.body;
  EXPECT_EQ(bench.body, bytes);
  EXPECT_NE(bench.head.find("no-store"), std::string::npos);
  // Facts are public, files are not: the version lists the digest only.
  HttpReply version =
      HttpGet(port_, "/api/v1/pieces/" + piece->id() + "/versions/1");
  EXPECT_EQ(version.status, 200);
  EXPECT_EQ(version.body.find(bytes.substr(0, 64)), std::string::npos);
}

TEST_F(HttpTest, TheLogAsTilesMatchesTheSignedCheckpoint) {
  // 300 entries: a full tile of leaves and a partial one.
  for (int i = 0; i < 300; ++i) {
    auto request = PieceRequest("aurum", "T-" + std::to_string(i));
    request.mutable_first_version()->set_reason(v1::VERSION_REASON_ORIGINAL);
    ASSERT_TRUE(aurum_->CreatePiece(request).ok());
  }
  HttpReply note = HttpGet(port_, "/checkpoint");
  ASSERT_EQ(note.status, 200) << note.body;
  // The note's body: origin, size, base64 root.
  const size_t a = note.body.find('\n'), b = note.body.find('\n', a + 1);
  const uint64_t size = std::stoull(note.body.substr(a + 1, b - a - 1));
  ASSERT_EQ(size, 300u);
  auto checkpoint = GetCheckpoint(*aurum_);
  ASSERT_TRUE(checkpoint.ok());
  EXPECT_EQ(checkpoint->note(), note.body);

  HttpReply full = HttpGet(port_, "/tile/0/000");
  ASSERT_EQ(full.status, 200) << full.body;
  EXPECT_EQ(full.body.size(), 256u * 32);
  EXPECT_NE(full.head.find("immutable"), std::string::npos);
  HttpReply partial = HttpGet(port_, "/tile/0/001.p/44");
  ASSERT_EQ(partial.status, 200);
  EXPECT_EQ(partial.body.size(), 44u * 32);
  EXPECT_EQ(partial.head.find("immutable"), std::string::npos);
  EXPECT_EQ(HttpGet(port_, "/tile/0/001.p/45").status, 404);
  EXPECT_EQ(HttpGet(port_, "/tile/0/001").status, 404);
  // Level 1: one hash per 256 leaves.
  HttpReply upper = HttpGet(port_, "/tile/1/000.p/1");
  ASSERT_EQ(upper.status, 200);

  std::vector<crypto::Hash> leaves;
  for (const std::string* tile : {&full.body, &partial.body}) {
    for (size_t at = 0; at < tile->size(); at += 32) {
      leaves.push_back(crypto::HashFromBytes(tile->substr(at, 32)));
    }
  }
  EXPECT_EQ(crypto::ToHex(crypto::SubtreeRoot(leaves, 0, 256)),
            crypto::ToHex(crypto::HashFromBytes(upper.body)));
  EXPECT_EQ(crypto::ToHex(crypto::SubtreeRoot(leaves, 0, leaves.size())),
            crypto::ToHex(crypto::HashFromBytes(checkpoint->root_hash())));

  // Entry bundles: each entry hashes to its leaf.
  HttpReply bundle = HttpGet(port_, "/tile/entries/001.p/44");
  ASSERT_EQ(bundle.status, 200);
  size_t at = 0, n = 0;
  while (at + 2 <= bundle.body.size()) {
    const size_t len = (static_cast<uint8_t>(bundle.body[at]) << 8) |
                       static_cast<uint8_t>(bundle.body[at + 1]);
    const std::string entry = bundle.body.substr(at + 2, len);
    EXPECT_EQ(crypto::ToHex(crypto::LeafHash(entry)),
              crypto::ToHex(leaves[256 + n]));
    at += 2 + len;
    ++n;
  }
  EXPECT_EQ(n, 44u);
  EXPECT_EQ(at, bundle.body.size());
}

TEST_F(HttpTest, BadRequestsAreRefusedAndTheServerStaysUp) {
  // A head larger than the limit (8 KiB).
  std::string raw =
      HttpExchange(port_, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " +
                              std::string(20000, 'a') + "\r\n\r\n");
  EXPECT_EQ(raw.substr(0, 12), "HTTP/1.1 431") << raw.substr(0, 100);
  // A body larger than the limit (64 KiB).
  raw =
      HttpExchange(port_,
                   "POST /api/v1/pieces HTTP/1.1\r\nHost: x\r\nContent-Length: "
                   "1000000\r\n\r\n" +
                       std::string(100000, 'b'));
  EXPECT_EQ(raw.substr(0, 12), "HTTP/1.1 413") << raw.substr(0, 100);
  // Not HTTP at all.
  raw = HttpExchange(port_, "HELLO\r\n\r\n");
  EXPECT_EQ(raw.substr(0, 12), "HTTP/1.1 400") << raw.substr(0, 100);
  // Traversal and malformed ids.
  EXPECT_EQ(HttpGet(port_, "/web/../../../etc/passwd").status, 400);
  EXPECT_EQ(HttpGet(port_, "/web/%2e%2e%2fetc%2fpasswd").status, 400);
  EXPECT_EQ(HttpGet(port_, "/api/v1/pieces/x;rm").status, 400);
  EXPECT_EQ(HttpGet(port_, "/verify/nonsense").status, 400);
  // A client trickling its request, a byte every 100 ms: cut off when the
  // read timeout (2 s here) runs out, long before it finishes.
  const auto start = Clock::now();
  raw = HttpExchange(port_,
                     "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " +
                         std::string(100, 's') + "\r\n\r\n",
                     100, 1, 20);
  const double seconds =
      std::chrono::duration<double>(Clock::now() - start).count();
  EXPECT_EQ(raw.find("200 OK"), std::string::npos) << raw;
  EXPECT_LT(seconds, 9.0);
  // Still up, and it counted what it refused (and the gRPC calls).
  EXPECT_TRUE(aurum_->ListPieces({}).ok());
  EXPECT_EQ(HttpGet(port_, "/healthz").status, 200);
  HttpReply metrics =
      HttpGet(port_, "/metrics",
              std::string("Authorization: Bearer ") + kAdminToken + "\r\n");
  EXPECT_NE(metrics.body.find("name=\"(refused)\",code=\"431\""),
            std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("protocol=\"grpc\",name=\"/"
                              "loupe.v1.RegistryService/ListPieces\",code="
                              "\"OK\"} 1"),
            std::string::npos);
  EXPECT_NE(metrics.body.find("loupe_log_entries"), std::string::npos);
  EXPECT_EQ(HttpGet(port_, "/readyz").status, 200);
}

TEST_F(HttpTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  const std::string one = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string last =
      "GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  const std::string raw = HttpExchange(port_, one + one + last);
  size_t count = 0;
  for (size_t at = raw.find("HTTP/1.1 200"); at != std::string::npos;
       at = raw.find("HTTP/1.1 200", at + 1)) {
    ++count;
  }
  EXPECT_EQ(count, 3u) << raw;
}

}  // namespace
}  // namespace loupe::testing
