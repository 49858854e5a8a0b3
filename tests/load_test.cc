// A bounded load test on loopback (issue 7): LOUPE_LOAD_SECONDS (default 30)
// of mixed traffic from 12 clients — registrations with a second version,
// 256 KiB uploads, reads, certificate issue and offline verification, HTTP
// GETs of the verify page and tiles — while an online backup runs half way.
// Zero errors, the server's RSS stays bounded, and afterwards every
// acknowledged write is there (pieces, versions, asset bytes by digest).
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "base/file.h"
#include "crypto/bundle.h"
#include "crypto/certificate.h"
#include "crypto/sha256.h"
#include "crypto/trust_root.h"
#include "tests/http_util.h"
#include "tests/test_server.h"
#include "tests/test_util.h"

namespace loupe::testing {
namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

uint64_t RssKiB(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmRSS:")) return std::stoull(line.substr(6));
  }
  return 0;
}

struct Acked {
  std::mutex mu;
  std::vector<std::pair<std::string, uint32_t>> versions;  // piece, count
  std::vector<std::string> assets;                         // hex digests
  std::vector<std::string> certificates;
};

TEST(LoadTest, MixedLoadDuringABackupLosesNothing) {
  const char* env = std::getenv("LOUPE_LOAD_SECONDS");
  const int seconds = env != nullptr ? std::atoi(env) : 30;
  TestServer server;
  const std::string root_path = server.EnableSigning();
  ASSERT_OK(server.Start());
  const auto root = crypto::VerifyInitialRoot(
      *crypto::EnvelopeFromJson(*ReadFileToString(root_path)));
  ASSERT_TRUE(root.ok());
  const fs::path backup = fs::temp_directory_path() /
                          ("loupe_load_backup_" + std::to_string(getpid()));
  fs::remove_all(backup);

  Acked acked;
  std::atomic<bool> stop = false;
  std::atomic<uint64_t> operations = 0, errors = 0;
  std::mutex error_mu;
  std::string first_error;
  auto fail = [&](const std::string& what) {
    ++errors;
    std::lock_guard lock(error_mu);
    if (first_error.empty()) first_error = what;
  };
  std::vector<std::thread> clients;
  for (int c = 0; c < 12; ++c) {
    clients.emplace_back([&, c] {
      auto aurum = server.Client(kAurumToken);
      std::string last_piece, last_cert_bundle;
      for (int i = 0; !stop; ++i) {
        const int kind = (c + i) % 6;
        if (kind == 0 || last_piece.empty()) {  // Register, then resize.
          auto request = PieceRequest(
              "aurum", "LOAD-" + std::to_string(c) + "-" + std::to_string(i));
          request.mutable_first_version()->set_reason(
              v1::VERSION_REASON_ORIGINAL);
          auto piece = aurum->CreatePiece(request);
          if (!piece.ok()) {
            fail(piece.status().ToString());
            continue;
          }
          auto v2 = aurum->AddVersion(
              VersionRequest(piece->id(), 1, v1::VERSION_REASON_RESIZE));
          if (!v2.ok()) {
            fail(v2.status().ToString());
            continue;
          }
          std::lock_guard lock(acked.mu);
          acked.versions.push_back({piece->id(), 2});
          last_piece = piece->id();
        } else if (kind == 1) {  // Upload 256 KiB.
          const std::string bytes = TestBytes(256 << 10, c * 100000 + i);
          auto up = aurum->UploadBytes(HeaderFor(bytes), bytes);
          if (!up.ok()) {
            fail(up.status().ToString());
            continue;
          }
          std::lock_guard lock(acked.mu);
          acked.assets.push_back(crypto::Sha256::HexOf(bytes));
        } else if (kind == 2) {  // Issue, then verify offline.
          auto cert = aurum->IssueCertificate(last_piece, 0);
          if (!cert.ok()) {
            fail(cert.status().ToString());
            continue;
          }
          auto bundle = crypto::ParseBundle(cert->bundle_json());
          if (!bundle.ok() ||
              !crypto::VerifyCertificate(bundle->certificate, *root).ok()) {
            fail("certificate did not verify");
            continue;
          }
          std::lock_guard lock(acked.mu);
          acked.certificates.push_back(cert->id());
        } else if (kind == 3) {  // Reads.
          v1::ListVersionsRequest lv;
          lv.set_piece_id(last_piece);
          if (!aurum->GetPiece(last_piece).ok() ||
              !aurum->ListVersions(lv).ok()) {
            fail("read failed");
            continue;
          }
        } else if (kind == 4) {  // HTTP: JSON, tiles, health.
          const int port = server.http_port();
          if (HttpGet(port, "/api/v1/pieces/" + last_piece).status != 200 ||
              HttpGet(port, "/checkpoint").status != 200 ||
              HttpGet(port, "/readyz").status != 200) {
            fail("HTTP read failed");
            continue;
          }
        } else {  // The verify page of the latest certificate, if any.
          std::string id;
          {
            std::lock_guard lock(acked.mu);
            if (!acked.certificates.empty()) id = acked.certificates.back();
          }
          if (!id.empty() &&
              HttpGet(server.http_port(), "/verify/" + id).status != 200) {
            fail("verify page failed");
            continue;
          }
        }
        ++operations;
      }
    });
  }
  uint64_t max_rss = 0, start_rss = RssKiB(server.pid());
  bool backed_up = false;
  absl::Status backup_status;
  const auto start = Clock::now();
  while (Clock::now() - start < std::chrono::seconds(seconds)) {
    max_rss = std::max(max_rss, RssKiB(server.pid()));
    if (!backed_up &&
        Clock::now() - start > std::chrono::seconds(seconds) / 2) {
      backed_up = true;
      auto admin = server.Client(kAdminToken);
      v1::BackupRequest request;
      request.set_directory(backup.string());
      backup_status = admin
                          ->Call<v1::BackupResponse>(
                              request,
                              [&](auto* ctx, auto& rq, auto* rs) {
                                return admin->admin_stub().Backup(ctx, rq, rs);
                              },
                              300)
                          .status();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  stop = true;
  for (auto& t : clients) t.join();
  std::printf(
      "load: %llu operations in %d s, %llu errors; server RSS %llu -> "
      "max %llu MiB\n",
      static_cast<unsigned long long>(operations.load()), seconds,
      static_cast<unsigned long long>(errors.load()),
      static_cast<unsigned long long>(start_rss >> 10),
      static_cast<unsigned long long>(max_rss >> 10));
  EXPECT_EQ(errors.load(), 0u) << first_error;
  EXPECT_GT(operations.load(), 100u);
  EXPECT_TRUE(backup_status.ok()) << backup_status;
  EXPECT_LT(max_rss, 1024u << 10) << "server RSS above 1 GiB";

  // Every acknowledged write is there.
  auto admin = server.Client(kAdminToken);
  for (const auto& [piece, count] : acked.versions) {
    auto p = admin->GetPiece(piece);
    ASSERT_TRUE(p.ok()) << piece << ": " << p.status();
    EXPECT_EQ(p->current_version(), count) << piece;
  }
  auto aurum = server.Client(kAurumToken);
  for (size_t i = 0; i < acked.assets.size(); i += 7) {  // A sample.
    v1::DownloadAssetRequest d;
    d.set_sha256(acked.assets[i]);
    auto bytes = aurum->DownloadBytes(d);
    ASSERT_TRUE(bytes.ok()) << acked.assets[i] << ": " << bytes.status();
    EXPECT_EQ(crypto::Sha256::HexOf(*bytes), acked.assets[i]);
  }
  auto scrub = admin->Call<v1::ScrubReport>(
      v1::ScrubRequest(),
      [&](auto* ctx, auto& rq, auto* rs) {
        return admin->admin_stub().Scrub(ctx, rq, rs);
      },
      300);
  ASSERT_TRUE(scrub.ok()) << scrub.status();
  EXPECT_EQ(scrub->problems_size(), 0);
  EXPECT_EQ(scrub->assets(), acked.assets.size());
  fs::remove_all(backup);
}

}  // namespace
}  // namespace loupe::testing
