// The checkpoint publisher over a real store and signer: it signs when the
// log grew, at most once per interval, answers waiters from its thread once
// a checkpoint holds their entries, and publishes at Stop().
#include "server/log/checkpoint_publisher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <future>
#include <mutex>
#include <string>
#include <thread>

#include "crypto/key_file.h"
#include "crypto/trust_root.h"
#include "server/storage/memory/memory_fixture_for_tests.h"

namespace loupe::server {
namespace {

using std::chrono::milliseconds;

class CheckpointPublisherTest : public storage::MemoryStoreFixture {
 protected:
  void SetUp() override {
    MemoryStoreFixture::SetUp();
    auto root_key = *crypto::SigningKey::Generate();
    auto key = *crypto::SigningKey::Generate();
    const absl::Time since = absl::FromUnixSeconds(1700000000);
    crypto::TrustRoot root{
        "registry.test/loupe",
        1,
        1,
        {{root_key.public_key(), {crypto::kRoleRoot}, since, std::nullopt},
         {key.public_key(),
          {crypto::kRoleCertificate, crypto::kRoleCheckpoint},
          since,
          std::nullopt}}};
    const std::string keys = dir_.string() + "-keys";
    std::filesystem::create_directories(keys);
    std::ofstream(keys + "/root.json")
        << crypto::EnvelopeToJson(*crypto::SignRoot(root, {&root_key}));
    std::ofstream(keys + "/key.json") << *crypto::SealSigningKey(
        key, "test passphrase", crypto::kKdfInteractive);
    std::ofstream(keys + "/passphrase") << "test passphrase\n";
    v1::SigningConfig config;
    config.set_key_file(keys + "/key.json");
    config.set_passphrase_file(keys + "/passphrase");
    config.add_root_files(keys + "/root.json");
    auto signer = CertificateSigner::Load(config);
    ASSERT_TRUE(signer.ok()) << signer.status();
    signer_ = *std::move(signer);
    log_ = std::make_unique<TransparencyLog>(store_.get(), signer_.get());
  }
  void TearDown() override {
    log_.reset();
    std::filesystem::remove_all(dir_.string() + "-keys");
    MemoryStoreFixture::TearDown();
  }

  // Appends one log entry (a version of a new piece); returns the log size.
  uint64_t Append() {
    v1::Piece p;
    p.set_id("pc_" + std::to_string(next_));
    p.set_studio_id("aurum");
    p.set_studio_reference("ref-" + std::to_string(next_++));
    EXPECT_TRUE(ledger_->CreatePieceAndWait(p).ok());
    v1::TwinVersion v;
    v.set_piece_id(p.id());
    EXPECT_TRUE(ledger_->AppendVersionAndWait(v, "aurum").ok());
    return *store_->LogSize();
  }

  uint64_t StoredSize() {
    auto stored = store_->LatestCheckpoint();
    return stored.ok() && stored->has_value() ? (*stored)->size : 0;
  }

  std::unique_ptr<CertificateSigner> signer_;
  std::unique_ptr<TransparencyLog> log_;
  int next_ = 0;
};

TEST_F(CheckpointPublisherTest, AWaiterIsAnsweredOnThePublisherThread) {
  CheckpointPublisher publisher(log_.get(), milliseconds(20));
  const uint64_t size = Append();
  std::promise<std::thread::id> answered;
  std::atomic<uint64_t> stored_then = 0;
  publisher.AfterCovering(size, [&] {
    stored_then = StoredSize();
    answered.set_value(std::this_thread::get_id());
  });
  EXPECT_NE(answered.get_future().get(), std::this_thread::get_id());
  EXPECT_GE(stored_then, size);  // Signed and stored before the answer.
  auto proof = log_->ProveEntry(size - 1);
  ASSERT_TRUE(proof.ok()) << proof.status();
  EXPECT_GE(proof->tree_size, size);
  // Covered now: inline.
  bool inline_answer = false;
  publisher.AfterCovering(size, [&] { inline_answer = true; });
  EXPECT_TRUE(inline_answer);
  // Never more than the log holds (a certificate from before the log).
  inline_answer = false;
  publisher.AfterCovering(size + 100, [&] { inline_answer = true; });
  EXPECT_TRUE(inline_answer);
}

TEST_F(CheckpointPublisherTest, SignsWhenTheLogGrewAtMostOncePerInterval) {
  const auto interval = milliseconds(100);
  CheckpointPublisher publisher(log_.get(), interval);
  // Growth without anyone waiting is published within about an interval.
  const uint64_t size = Append();
  const auto deadline = std::chrono::steady_clock::now() + milliseconds(2000);
  while (publisher.published_size() < size &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  EXPECT_EQ(publisher.published_size(), size);
  EXPECT_EQ(StoredSize(), size);
  // 1 s of entries every 10 ms, each waited for: a handful of signatures,
  // not one per entry.
  const uint64_t start = publisher.publications();
  const auto begin = std::chrono::steady_clock::now();
  std::atomic<int> answered = 0;
  int asked = 0;
  while (std::chrono::steady_clock::now() - begin < milliseconds(1000)) {
    publisher.AfterCovering(Append(), [&] { ++answered; });
    ++asked;
    std::this_thread::sleep_for(milliseconds(10));
  }
  const double elapsed_ms = std::chrono::duration<double, std::milli>(
                                std::chrono::steady_clock::now() - begin)
                                .count();
  publisher.Stop();
  EXPECT_EQ(answered, asked);
  const uint64_t signed_count = publisher.publications() - start;
  EXPECT_GE(signed_count, 2u);
  EXPECT_LE(signed_count, elapsed_ms / interval.count() + 2);
}

TEST_F(CheckpointPublisherTest, StopPublishesAndAnswersEveryoneWaiting) {
  Append();
  CheckpointPublisher publisher(log_.get(), milliseconds(60'000));
  EXPECT_EQ(publisher.published_size(), 1u);  // At start.
  const uint64_t size = Append();
  std::atomic<bool> answered = false;
  publisher.AfterCovering(size, [&] { answered = true; });
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_FALSE(answered);  // Within the interval of the last signature.
  EXPECT_EQ(StoredSize(), 1u);
  publisher.Stop();
  EXPECT_TRUE(answered);
  EXPECT_EQ(StoredSize(), size);
  // After Stop: inline.
  bool after = false;
  publisher.AfterCoveringNow([&] { after = true; });
  EXPECT_TRUE(after);
}

// Readers are served the newest published checkpoint; they never sign.
TEST_F(CheckpointPublisherTest, ReadsServeTheNewestPublishedCheckpoint) {
  Append();
  CheckpointPublisher publisher(log_.get(), milliseconds(60'000));
  Append();
  auto checkpoint = log_->Checkpoint();
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
  EXPECT_EQ(checkpoint->tree_size(), 1u);
  EXPECT_EQ(StoredSize(), 1u);
}

// A lease shared by publishers on one store, as the database's would be:
// held until given up (ttl 0) or taken over after Expire().
class FakeLease {
 public:
  CheckpointPublisher::Lease For() {
    return [this](std::string_view holder, milliseconds ttl) {
      std::lock_guard lock(mu_);
      if (ttl.count() == 0) {
        if (holder_ == holder) holder_.clear();
        return false;
      }
      if (holder_.empty()) holder_ = holder;
      return holder_ == holder;
    };
  }
  void Expire() {
    std::lock_guard lock(mu_);
    holder_.clear();
  }

 private:
  std::mutex mu_;
  std::string holder_;
};

// Two front ends on one store: only the lease holder signs; the other
// serves and answers its waiters from the stored checkpoint, and takes
// over when the holder gives the lease up.
TEST_F(CheckpointPublisherTest, OnlyTheLeaseHolderSignsAndOthersFollow) {
  FakeLease lease;
  TransparencyLog other_log(store_.get(), signer_.get());
  Append();
  CheckpointPublisher leader(log_.get(), milliseconds(20), lease.For(), "a");
  CheckpointPublisher follower(&other_log, milliseconds(20), lease.For(), "b");
  EXPECT_TRUE(leader.leading());
  EXPECT_FALSE(follower.leading());
  EXPECT_EQ(follower.published_size(), 1u);  // The leader's, read back.
  const uint64_t size = Append();
  std::promise<uint64_t> stored_then;
  follower.AfterCovering(size, [&] { stored_then.set_value(StoredSize()); });
  EXPECT_GE(stored_then.get_future().get(), size);
  EXPECT_GE(follower.published_size(), size);
  auto checkpoint = other_log.Checkpoint();
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
  EXPECT_GE(checkpoint->tree_size(), size);
  auto proof = other_log.ProveEntry(size - 1);
  ASSERT_TRUE(proof.ok()) << proof.status();
  EXPECT_EQ(follower.publications(), 0u);  // It never signed.
  EXPECT_GE(leader.publications(), 2u);
  // The leader stops (gives the lease up): the follower takes over.
  leader.Stop();
  const uint64_t later = Append();
  std::promise<void> covered;
  follower.AfterCovering(later, [&] { covered.set_value(); });
  covered.get_future().wait();
  EXPECT_TRUE(follower.leading());
  EXPECT_GE(follower.publications(), 1u);
  EXPECT_EQ(StoredSize(), later);
}

// A holder that dies keeps the lease until it expires; then another takes
// it in its next round.
TEST_F(CheckpointPublisherTest, AnExpiredLeaseIsTakenOver) {
  FakeLease lease;
  ASSERT_TRUE(*lease.For()("dead", milliseconds(1000)));  // Then it crashed.
  Append();
  CheckpointPublisher publisher(log_.get(), milliseconds(20), lease.For(), "b");
  EXPECT_FALSE(publisher.leading());
  EXPECT_EQ(StoredSize(), 0u);  // Nobody signed.
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_EQ(StoredSize(), 0u);
  lease.Expire();
  std::promise<void> covered;
  publisher.AfterCovering(1, [&] { covered.set_value(); });
  covered.get_future().wait();
  EXPECT_TRUE(publisher.leading());
  EXPECT_EQ(StoredSize(), 1u);
}

}  // namespace
}  // namespace loupe::server
