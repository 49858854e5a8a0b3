// TLS on a real server (certificates from tools/dev_tls.sh): a TLS-only
// server refuses plain-text gRPC and HTTP clients; clients that trust its
// CA get through with a token; over mutual TLS a client certificate names
// the principal without a token, an unknown one is refused; and a server
// that requires client certificates refuses clients without one.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>

#include "crypto/sha256.h"
#include "tests/test_server.h"
#include "tests/test_util.h"

namespace loupe::testing {
namespace {

namespace fs = std::filesystem;

// (exit code, output) of a shell command.
std::pair<int, std::string> Shell(const std::string& command) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  std::string out;
  char buffer[4096];
  while (fgets(buffer, sizeof buffer, pipe) != nullptr) out += buffer;
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tls_ = (fs::temp_directory_path() /
            ("loupe_tls_test_" + std::to_string(getpid())))
               .string();
    fs::remove_all(tls_);
    auto [code, out] = Shell(std::string("bash ") + LOUPE_SOURCE_DIR +
                             "/tools/dev_tls.sh " + tls_ + " bench stranger");
    ASSERT_EQ(code, 0) << out;
    Plain();
  }
  void TearDown() override {
    Plain();
    fs::remove_all(tls_);
  }
  void Plain() {
    unsetenv("LOUPE_CA");
    unsetenv("LOUPE_CERT");
    unsetenv("LOUPE_KEY");
  }
  void Trust(const std::string& client = "") {
    setenv("LOUPE_CA", (tls_ + "/ca.pem").c_str(), 1);
    if (!client.empty()) {
      setenv("LOUPE_CERT", (tls_ + "/client-" + client + ".pem").c_str(), 1);
      setenv("LOUPE_KEY", (tls_ + "/client-" + client + ".key").c_str(), 1);
    }
  }
  std::string Curl(int port, const std::string& extra) {
    return Shell("curl -sS --max-time 5 " + extra +
                 " https://127.0.0.1:" + std::to_string(port) + "/healthz")
        .second;
  }

  std::string tls_;
  TestServer server_;
};

TEST_F(TlsTest, TlsOnlyAndMutualTlsNamesThePrincipal) {
  server_.EnableTls(tls_, /*require_client_certificate=*/false);
  ASSERT_OK(server_.Start());
  // Plain text: refused on both ports.
  EXPECT_EQ(server_.Client(kAurumToken)->ListPieces({}).status().code(),
            absl::StatusCode::kUnavailable);
  auto [code, plain] = Shell("curl -sS --max-time 5 http://127.0.0.1:" +
                             std::to_string(server_.http_port()) + "/healthz");
  EXPECT_NE(code, 0) << plain;
  EXPECT_EQ(plain.find("ok"), std::string::npos) << plain;
  // A client that does not trust the CA is refused too.
  EXPECT_NE(Curl(server_.http_port(), "").find("certificate"),
            std::string::npos);

  // Trusting the CA: a token works, over gRPC and HTTPS.
  Trust();
  auto aurum = server_.Client(kAurumToken);
  const std::string bytes = TestBytes(5000, 3);
  ASSERT_TRUE(aurum->UploadBytes(HeaderFor(bytes), bytes).ok());
  auto request = PieceRequest("aurum", "TLS-1");
  request.mutable_first_version()->set_reason(v1::VERSION_REASON_ORIGINAL);
  *request.mutable_first_version()->add_assets() = CadAsset(bytes);
  auto piece = aurum->CreatePiece(request);
  ASSERT_TRUE(piece.ok()) << piece.status();
  EXPECT_EQ(Curl(server_.http_port(), "--cacert " + tls_ + "/ca.pem"), "ok\n");

  // No token, no client certificate: anonymous reads only.
  EXPECT_EQ(server_.Client("")->ListPieces({}).status().code(),
            absl::StatusCode::kUnauthenticated);
  // Mutual TLS: bench's certificate is bench, who may read aurum's files.
  Trust("bench");
  auto bench = server_.Client("");
  EXPECT_TRUE(bench->ListPieces({}).ok());
  v1::DownloadAssetRequest d;
  d.set_sha256(crypto::Sha256::HexOf(bytes));
  d.set_piece_id(piece->id());
  auto read = bench->DownloadBytes(d);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, bytes);
  // A valid certificate that names no principal: refused, saying so.
  Trust("stranger");
  auto stranger = server_.Client("")->ListPieces({});
  EXPECT_EQ(stranger.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(stranger.status().message().find("names no principal"),
            std::string::npos)
      << stranger.status();
  // A token still wins over the certificate.
  EXPECT_TRUE(server_.Client(kAurumToken)->ListPieces({}).ok());
}

// A browser sends the whole body before it reads the answer: a request
// refused from its head (a wrong token for the identification form) is
// answered at once, and the server then reads and drops the rest of the
// body instead of closing on a client still sending, whose TLS stack would
// then lose the answer (the form showed "could not be reached").
TEST_F(TlsTest, AnAnswerBeforeTheBodyReachesAClientStillSending) {
  server_.EnableTls(tls_, /*require_client_certificate=*/false);
  ASSERT_OK(server_.Start());
  auto [code, out] =
      Shell(std::string("/usr/bin/python3 ") + LOUPE_SOURCE_DIR +
            "/tests/interop/early_answer_client.py 127.0.0.1 " +
            std::to_string(server_.http_port()) +
            " '/api/v1/identify?file_name=scan.stl' not-a-token " +
            std::to_string(8 << 20) + " 4 " + tls_ + "/ca.pem");
  EXPECT_EQ(code, 0) << out;
  EXPECT_EQ(out.find("sending stopped"), std::string::npos) << out;
  EXPECT_NE(out.find("HTTP/1.1 401"), std::string::npos) << out;
  EXPECT_NE(out.find("token"), std::string::npos) << out;
  // The server is still up and answers the next caller.
  Trust();
  EXPECT_EQ(Curl(server_.http_port(), "--cacert " + tls_ + "/ca.pem"), "ok\n");
}

TEST_F(TlsTest, RequiredClientCertificatesRefuseClientsWithout) {
  server_.EnableTls(tls_, /*require_client_certificate=*/true);
  ASSERT_OK(server_.Start());
  Trust();
  EXPECT_EQ(server_.Client(kAurumToken)->ListPieces({}).status().code(),
            absl::StatusCode::kUnavailable);
  Trust("bench");
  EXPECT_TRUE(server_.Client("")->ListPieces({}).ok());
}

}  // namespace
}  // namespace loupe::testing
