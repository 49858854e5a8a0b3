// Online backup under write load, restore, and verification, on a real
// server: a backup taken while four clients register pieces restores (with
// `loupe-server restore`) to a store whose scrub is clean, which holds
// every piece acknowledged before the backup began, and whose log has the
// same root as every checkpoint published before the backup at that size.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <thread>

#include "crypto/merkle.h"
#include "server/storage/rocks/rocks_store.h"
#include "tests/log_util.h"
#include "tests/test_server.h"
#include "tests/test_util.h"

namespace loupe::testing {
namespace {

namespace fs = std::filesystem;

// Runs loupe-server with `args`; returns (exit code, output).
std::pair<int, std::string> RunServerCommand(const std::string& args) {
  const std::string command =
      std::string(LOUPE_SERVER_BIN) + " " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  std::string out;
  char buffer[4096];
  while (fgets(buffer, sizeof buffer, pipe) != nullptr) out += buffer;
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

class BackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.EnableSigning();
    ASSERT_OK(server_.Start());
    work_ = fs::temp_directory_path() /
            ("loupe_backup_test_" + std::to_string(getpid()));
    fs::remove_all(work_);
    fs::create_directories(work_);
  }
  void TearDown() override { fs::remove_all(work_); }

  TestServer server_;
  fs::path work_;
};

TEST_F(BackupTest, ABackupUnderLoadRestoresCleanAndConsistent) {
  std::atomic<bool> stop = false;
  std::mutex mu;
  std::vector<std::string> acked;
  std::vector<std::pair<uint64_t, std::string>> witnessed;  // size, root
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w) {
    threads.emplace_back([&, w] {
      auto client = server_.Client(kAurumToken);
      for (int i = 0; !stop; ++i) {
        auto request = PieceRequest(
            "aurum", "L-" + std::to_string(w) + "-" + std::to_string(i));
        request.mutable_first_version()->set_reason(
            v1::VERSION_REASON_ORIGINAL);
        auto piece = client->CreatePiece(request);
        if (!piece.ok()) continue;
        std::lock_guard lock(mu);
        acked.push_back(piece->id());
      }
    });
  }
  threads.emplace_back([&] {
    auto client = server_.Client("");
    while (!stop) {
      if (auto c = GetCheckpoint(*client); c.ok()) {
        std::lock_guard lock(mu);
        witnessed.push_back({c->tree_size(), c->root_hash()});
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));

  // Only an admin may take a backup.
  auto aurum = server_.Client(kAurumToken);
  v1::BackupRequest request;
  request.set_directory((work_ / "backup").string());
  auto refused = aurum->Call<v1::BackupResponse>(
      request, [&](auto* c, auto& rq, auto* rs) {
        return aurum->admin_stub().Backup(c, rq, rs);
      });
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied);

  std::vector<std::string> acked_before;
  std::vector<std::pair<uint64_t, std::string>> witnessed_before;
  {
    std::lock_guard lock(mu);
    acked_before = acked;
    witnessed_before = witnessed;
  }
  auto admin = server_.Client(kAdminToken);
  auto backup = admin->Call<v1::BackupResponse>(
      request, [&](auto* c, auto& rq, auto* rs) {
        return admin->admin_stub().Backup(c, rq, rs);
      });
  ASSERT_TRUE(backup.ok()) << backup.status();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  // The live store scrubs clean while it serves.
  auto scrub = admin->Call<v1::ScrubReport>(
      v1::ScrubRequest(), [&](auto* c, auto& rq, auto* rs) {
        return admin->admin_stub().Scrub(c, rq, rs);
      });
  stop = true;
  for (auto& t : threads) t.join();
  ASSERT_TRUE(scrub.ok()) << scrub.status();
  EXPECT_EQ(scrub->problems_size(), 0)
      << (scrub->problems_size() > 0 ? scrub->problems(0) : "");
  EXPECT_GT(scrub->pieces(), acked_before.size());
  ASSERT_GT(acked_before.size(), 50u) << "too little load to mean anything";
  ASSERT_FALSE(witnessed_before.empty());
  EXPECT_GE(backup->checkpoint_size(), witnessed_before.back().first);
  // A second backup into the same directory is refused, naming it.
  auto again = admin->Call<v1::BackupResponse>(
      request, [&](auto* c, auto& rq, auto* rs) {
        return admin->admin_stub().Backup(c, rq, rs);
      });
  EXPECT_EQ(again.status().code(), absl::StatusCode::kInvalidArgument);

  const fs::path restored = work_ / "restored";
  auto [code, out] = RunServerCommand("restore " + request.directory() +
                                      " --data-dir " + restored.string());
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("clean"), std::string::npos) << out;
  auto [code2, out2] = RunServerCommand("restore " + request.directory() +
                                        " --data-dir " + restored.string());
  EXPECT_EQ(code2, 1) << out2;
  EXPECT_NE(out2.find("already holds a store"), std::string::npos) << out2;

  auto store = storage::OpenRocksStore(restored.string());
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)->LogHealth().ok());
  for (const auto& id : acked_before) {
    EXPECT_TRUE((*store)->GetPiece(id).ok()) << id << " lost";
  }
  const uint64_t size = *(*store)->LogSize();
  for (const auto& [n, root] : witnessed_before) {
    ASSERT_LE(n, size);
    auto r = (*store)->LogRoot(n);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(std::string(r->begin(), r->end()), root) << "size " << n;
  }
  store->reset();
  auto [code3, out3] =
      RunServerCommand("scrub --data-dir " + restored.string());
  EXPECT_EQ(code3, 0) << out3;
}

}  // namespace
}  // namespace loupe::testing
