// The log's static copy (issue 18): the registry publishes C2SP tiles into
// a directory (log.static_tiles), a real nginx serves it, the registry is
// stopped, and `loupe log audit --log-url` and `loupe verify --log-url`
// check the log from the copy alone: tiles rebuild the signed root, and a
// tampered tile, a swapped tile and a copy serving an older checkpoint are
// refused, naming what is wrong.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "base/file.h"
#include "base/str_cat.h"
#include "crypto/random.h"
#include "server/storage/s3/test_swift_for_tests.h"
#include "tests/http_util.h"
#include "tests/test_server.h"
#include "tests/test_util.h"

namespace loupe::testing {
namespace {

namespace fs = std::filesystem;

CliResult RunCli(const std::string& args) {
  return RunCommand(std::string(LOUPE_CLI_BIN) + " " + args);
}

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// nginx serving `root` as docs/operations.md configures it (cache headers
// by kind of object), until destroyed.
class Nginx {
 public:
  explicit Nginx(const fs::path& root) : dir_(root.string() + "-nginx") {
    fs::create_directories(dir_);
    port_ = FreePort();
    std::ofstream(dir_ + "/nginx.conf")
        << "daemon off; worker_processes 1; pid " << dir_
        << "/nginx.pid; error_log " << dir_ << "/error.log;\n"
        << "events { worker_connections 64; }\n"
        << "http { access_log off; client_body_temp_path " << dir_ << ";\n"
        << "  proxy_temp_path " << dir_ << "; fastcgi_temp_path " << dir_
        << "; uwsgi_temp_path " << dir_ << "; scgi_temp_path " << dir_
        << ";\n  server { listen 127.0.0.1:" << port_ << "; root "
        << root.string() << "; default_type application/octet-stream;\n"
        << "    location = /checkpoint { add_header Cache-Control "
           "\"public, max-age=5\"; }\n"
        << "    location ~ \\.p/ { add_header Cache-Control "
           "\"public, max-age=60\"; }\n"
        << "    location /tile/ { add_header Cache-Control "
           "\"public, max-age=31536000, immutable\"; } } }\n";
    pid_ = fork();
    if (pid_ == 0) {
      execlp("nginx", "nginx", "-c", (dir_ + "/nginx.conf").c_str(), "-p",
             dir_.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 100 && HttpGet(port_, "/checkpoint").status == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ~Nginx() {
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
    fs::remove_all(dir_);
  }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(port_);
  }
  int port() const { return port_; }

 private:
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

class StaticCopyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = server_.EnableSigning();
    tiles_ =
        fs::temp_directory_path() / ("loupe_tiles_" + crypto::RandomId(""));
    server_.AppendConfig(StaticConfig());
    ASSERT_OK(server_.Start());
    aurum_ = server_.Client(kAurumToken);
  }

  // Where the registry publishes: a directory here.
  virtual std::string StaticConfig() {
    return "log { static_tiles { directory: '" + tiles_.string() + "' } }";
  }
  // An object of the published copy.
  virtual absl::StatusOr<std::string> ReadCopy(const std::string& key) {
    return ReadFileToString((tiles_ / key).string());
  }
  void TearDown() override { fs::remove_all(tiles_); }

  // Registers `n` pieces (one entry each); returns the last one's id.
  std::string AddPieces(int n) {
    std::string id;
    for (int i = 0; i < n; ++i) {
      auto request = PieceRequest("aurum", "S-" + std::to_string(next_++));
      request.mutable_first_version()->set_reason(v1::VERSION_REASON_ORIGINAL);
      auto piece = aurum_->CreatePiece(request);
      EXPECT_TRUE(piece.ok()) << piece.status();
      if (piece.ok()) id = piece->id();
    }
    return id;
  }

  // A certificate of the piece's version 1, saved as `name` in tiles_'s
  // sibling directory; returns its path.
  std::string Certify(const std::string& piece_id, const std::string& name) {
    grpc::ClientContext ctx;
    aurum_->Prepare(&ctx, 30);
    v1::IssueCertificateRequest request;
    request.set_piece_id(piece_id);
    request.set_version(1);
    v1::Certificate cert;
    auto s = aurum_->stub().IssueCertificate(&ctx, request, &cert);
    EXPECT_TRUE(s.ok()) << s.error_message();
    const std::string path = server_.keys_dir() + "/" + name;
    std::ofstream(path) << cert.bundle_json();
    return path;
  }

  // Waits until the copy's checkpoint is the registry's, covering the log.
  void WaitPublished() {
    for (int i = 0; i < 200; ++i) {
      grpc::ClientContext ctx;
      aurum_->Prepare(&ctx, 10);
      v1::GetEntriesRequest entries;
      entries.set_count(1);
      v1::GetEntriesResponse size;
      ASSERT_TRUE(aurum_->log_stub().GetEntries(&ctx, entries, &size).ok());
      grpc::ClientContext ctx2;
      aurum_->Prepare(&ctx2, 10);
      v1::SignedCheckpoint checkpoint;
      ASSERT_TRUE(
          aurum_->log_stub()
              .GetCheckpoint(&ctx2, v1::GetCheckpointRequest(), &checkpoint)
              .ok());
      auto copy = ReadCopy("checkpoint");
      if (checkpoint.tree_size() == size.tree_size() && copy.ok() &&
          *copy == checkpoint.note()) {
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL() << "the static copy did not catch up";
  }

  std::string Audit(const Nginx& nginx) {
    // --server names a port nothing listens on: the registry is not asked.
    return "log audit --server 127.0.0.1:1 --root " + root_ + " --log-url " +
           nginx.url();
  }
  std::string Verify(const Nginx& nginx, const std::string& bundle) {
    return "verify " + bundle + " --server 127.0.0.1:1 --root " + root_ +
           " --log-url " + nginx.url();
  }

  // Flips a byte of a published object; returns its old bytes.
  std::string Flip(const std::string& key, size_t at = 0) {
    std::string bytes = *ReadFileToString((tiles_ / key).string());
    std::string flipped = bytes;
    flipped[at] ^= 1;
    std::ofstream(tiles_ / key, std::ios::binary | std::ios::trunc) << flipped;
    return bytes;
  }
  void Write(const std::string& key, const std::string& bytes) {
    std::ofstream(tiles_ / key, std::ios::binary | std::ios::trunc) << bytes;
  }

  TestServer server_;
  std::string root_;
  fs::path tiles_;
  std::unique_ptr<client::RegistryClient> aurum_;
  int next_ = 0;
};

TEST_F(StaticCopyTest, AuditAndVerifyFromTheCopyWithTheRegistryStopped) {
  const std::string piece = AddPieces(270);  // A full tile and a partial one.
  const std::string bundle = Certify(piece, "cert.json");
  WaitPublished();
  ASSERT_EQ(server_.Stop(), 0);
  Nginx nginx(tiles_);
  // Full tiles are immutable for caches, partial ones and the checkpoint
  // brief (the nginx block of docs/operations.md).
  EXPECT_NE(HttpGet(nginx.port(), "/tile/0/000").head.find("immutable"),
            std::string::npos);

  auto r = RunCli(Audit(nginx));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("its tiles rebuild the signed root"),
            std::string::npos)
      << r.output;
  r = RunCli(Audit(nginx) + " --entries");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("every tile and entry bundle"), std::string::npos)
      << r.output;
  r = RunCli(Verify(nginx, bundle));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("rebuilt from the log's static copy"),
            std::string::npos)
      << r.output;
  // The same without the copy: the registry is down, --online fails.
  EXPECT_EQ(RunCli("verify " + bundle + " --server 127.0.0.1:1 --root " +
                   root_ + " --online")
                .exit_code,
            1);
}

TEST_F(StaticCopyTest, TamperedSwappedAndStaleCopiesAreRefused) {
  const std::string first = AddPieces(260);
  const std::string old_bundle = Certify(first, "old.json");
  WaitPublished();
  const std::string old_checkpoint =
      *ReadFileToString((tiles_ / "checkpoint").string());
  const std::string piece = AddPieces(260);  // Two full level-0 tiles now.
  const std::string bundle = Certify(piece, "new.json");
  WaitPublished();
  ASSERT_EQ(server_.Stop(), 0);
  Nginx nginx(tiles_);
  const std::string saved = server_.keys_dir() + "/saved.txt";
  auto r = RunCli(Audit(nginx) + " --save " + saved);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_EQ(RunCli(Verify(nginx, old_bundle)).exit_code, 0);

  // A flipped byte in a full tile: --entries checks every tile, names it.
  std::string kept = Flip("tile/0/000", 100);
  r = RunCli(Audit(nginx) + " --entries");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("tile/0/000:"), std::string::npos) << r.output;
  Write("tile/0/000", kept);

  // A flipped byte in an entry bundle.
  kept = Flip("tile/entries/001", 7);
  r = RunCli(Audit(nginx) + " --entries");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("tile/entries/001:"), std::string::npos) << r.output;
  Write("tile/entries/001", kept);

  // Swapped full tiles: the old bundle's proof runs through tile/0/001.
  const std::string a = *ReadFileToString((tiles_ / "tile/0/000").string());
  const std::string b = *ReadFileToString((tiles_ / "tile/0/001").string());
  Write("tile/0/000", b);
  Write("tile/0/001", a);
  r = RunCli(Verify(nginx, old_bundle));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("tile/0/00"), std::string::npos) << r.output;
  r = RunCli(Audit(nginx) + " --entries");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("tile/0/000:"), std::string::npos) << r.output;
  Write("tile/0/000", a);
  Write("tile/0/001", b);

  // The right edge, which the plain audit reads: named too. (The copy
  // keeps the partial tiles of older checkpoints too; the newest one's is
  // the one the audit reads.)
  const std::string note = *ReadFileToString((tiles_ / "checkpoint").string());
  const size_t line = note.find('\n') + 1;
  const uint64_t size = std::stoull(note.substr(line, note.find('\n', line)));
  ASSERT_EQ(size / 256, 2u) << note;
  const std::string edge = StrCat("tile/0/002.p/", size % 256);
  ASSERT_TRUE(fs::exists(tiles_ / edge)) << edge;
  kept = Flip(edge);
  r = RunCli(Audit(nginx));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find(edge), std::string::npos) << r.output;
  Write(edge, kept);

  // A copy serving an older checkpoint (a stale or rolled-back mirror):
  // the auditor's saved checkpoint and the newer bundle refuse it.
  Write("checkpoint", old_checkpoint);
  r = RunCli(Audit(nginx) + " --checkpoint " + saved);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("shrank"), std::string::npos) << r.output;
  r = RunCli(Verify(nginx, bundle));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("stale"), std::string::npos) << r.output;
}

// The same copy in a bucket of a real S3 server (OpenStack Swift with
// s3api, server/storage/s3/test_swift_for_tests.h), written through the
// S3 API and read anonymously over plain HTTP, as a CDN in front would.
class StaticCopySwiftTest : public StaticCopyTest {
 protected:
  void SetUp() override {
    swift_ = &storage::s3::testing::SharedSwift();
    auto bucket = swift_->NewBucket("tiles");
    ASSERT_TRUE(bucket.ok()) << bucket.status();
    bucket_ = (*bucket)->options().bucket;
    port_ =
        std::stoi(swift_->endpoint().substr(swift_->endpoint().rfind(':') + 1));
    // Anyone may read the bucket (Swift's container ACL, set with
    // tempauth's token): the log is public.
    auto auth = HttpGet(port_, "/auth/v1.0",
                        "X-Auth-User: test:tester\r\nX-Auth-Key: testing\r\n");
    const size_t at = auth.head.find("X-Auth-Token: ");
    ASSERT_NE(at, std::string::npos) << auth.head;
    const std::string token =
        auth.head.substr(at + 14, auth.head.find("\r\n", at) - at - 14);
    const std::string acl = HttpExchange(
        port_, "POST /v1/AUTH_test/" + bucket_ +
                   " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                   "X-Auth-Token: " +
                   token +
                   "\r\nX-Container-Read: .r:*\r\nContent-Length: 0\r\n\r\n");
    ASSERT_EQ(ParseHttpReply(acl).status / 100, 2) << acl;
    secret_ = fs::temp_directory_path() /
              ("loupe_s3_secret_" + bucket_ + crypto::RandomId(""));
    std::ofstream(secret_) << storage::s3::testing::TestSwift::kSecret << "\n";
    StaticCopyTest::SetUp();
  }
  void TearDown() override {
    fs::remove(secret_);
    StaticCopyTest::TearDown();
  }
  std::string StaticConfig() override {
    return StrCat("log { static_tiles { prefix: 'log/' s3 { endpoint: '",
                  swift_->endpoint(), "' bucket: '", bucket_,
                  "' access_key_id: '",
                  storage::s3::testing::TestSwift::kAccessKeyId,
                  "' secret_access_key_file: '", secret_.string(), "' } } }");
  }
  std::string Path(const std::string& key) const {
    return "/v1/AUTH_test/" + bucket_ + "/log/" + key;
  }
  absl::StatusOr<std::string> ReadCopy(const std::string& key) override {
    auto r = HttpGet(port_, Path(key));
    if (r.status != 200) return absl::NotFoundError(key);
    return r.body;
  }
  std::string Url() const {
    return StrCat(swift_->endpoint(), "/v1/AUTH_test/", bucket_, "/log");
  }

  storage::s3::testing::TestSwift* swift_ = nullptr;
  std::string bucket_;
  int port_ = 0;
  fs::path secret_;
};

TEST_F(StaticCopySwiftTest, AuditAndVerifyFromTheBucketWithTheRegistryStopped) {
  const std::string piece = AddPieces(270);
  const std::string bundle = Certify(piece, "cert.json");
  WaitPublished();
  ASSERT_EQ(server_.Stop(), 0);
  // Stored with their cache headers: full tiles immutable, the rest brief.
  auto full = HttpGet(port_, Path("tile/0/000"));
  EXPECT_EQ(full.body.size(), 8192u);
  EXPECT_NE(full.head.find("public, max-age=31536000, immutable"),
            std::string::npos)
      << full.head;
  auto checkpoint = HttpGet(port_, Path("checkpoint"));
  EXPECT_NE(checkpoint.head.find("public, max-age=5"), std::string::npos)
      << checkpoint.head;

  const std::string audit =
      "log audit --server 127.0.0.1:1 --root " + root_ + " --log-url " + Url();
  auto r = RunCli(audit);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("its tiles rebuild the signed root"),
            std::string::npos)
      << r.output;
  r = RunCli(audit + " --entries");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  r = RunCli("verify " + bundle + " --server 127.0.0.1:1 --root " + root_ +
             " --log-url " + Url());
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("rebuilt from the log's static copy"),
            std::string::npos)
      << r.output;
}

}  // namespace
}  // namespace loupe::testing
