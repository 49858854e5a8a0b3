// The transparency log (transparency_log.h) over the in-memory engine:
// checkpoints signed over the stored tree and stored, re-signed after a
// key rotation, proofs that verify against the checkpoint they carry, and
// entries within bounds.
#include "server/log/transparency_log.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "crypto/checkpoint.h"
#include "crypto/merkle.h"
#include "server/signing/signer_for_tests.h"
#include "server/storage/memory/memory_fixture_for_tests.h"

namespace loupe::server {
namespace {

crypto::Hash ToHash(const std::string& bytes) {
  return crypto::HashFromBytes(bytes);
}

class TransparencyLogTest : public storage::MemoryStoreFixture {
 protected:
  void SetUp() override {
    MemoryStoreFixture::SetUp();
    files_.emplace(WriteSignerFilesForTests(dir_));
    auto signer = CertificateSigner::Load(files_->config);
    ASSERT_TRUE(signer.ok()) << signer.status();
    signer_ = *std::move(signer);
    log_ = std::make_unique<TransparencyLog>(store_.get(), signer_.get());
  }
  void TearDown() override {
    log_.reset();
    MemoryStoreFixture::TearDown();
  }

  void Append(const std::vector<std::string>& entries) {
    ASSERT_TRUE(store_
                    ->CommitAndWait([&](storage::Transaction& txn) {
                      for (const auto& e : entries) {
                        auto index = txn.AppendLog(e);
                        if (!index.ok()) return index.status();
                      }
                      return absl::OkStatus();
                    })
                    .ok());
  }
  // The served checkpoint once it covers `size` entries, verified with the
  // signing key. Publishes first, as the CheckpointPublisher's thread does
  // when the log has grown.
  absl::StatusOr<crypto::Checkpoint> CheckpointOf(uint64_t size) {
    if (auto published = log_->Publish(); !published.ok()) {
      return published.status();
    }
    for (int i = 0; i < 500; ++i) {
      auto served = log_->Checkpoint();
      if (!served.ok()) return served.status();
      if (served->tree_size() >= size) {
        EXPECT_EQ(served->origin(), kTestOrigin);
        auto checked = crypto::VerifyCheckpoint(
            served->note(), kTestOrigin, files_->signing_key.public_key());
        if (!checked.ok()) return checked.status();
        EXPECT_EQ(checked->size, served->tree_size());
        EXPECT_EQ(checked->root, ToHash(served->root_hash()));
        return checked;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return absl::DeadlineExceededError("no checkpoint of that size");
  }

  std::optional<SignerFilesForTests> files_;
  std::unique_ptr<CertificateSigner> signer_;
  std::unique_ptr<TransparencyLog> log_;
};

TEST_F(TransparencyLogTest, WithoutASignerThereAreNoCheckpoints) {
  TransparencyLog unsigned_log(store_.get(), nullptr);
  Append({"a"});
  auto c = unsigned_log.Checkpoint();
  EXPECT_EQ(c.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(c.status().message().find("signing.key_file"), std::string::npos);
  EXPECT_EQ(unsigned_log.ProveEntry(0).status().code(),
            absl::StatusCode::kFailedPrecondition);
  // Entries need no key.
  v1::GetEntriesRequest request;
  request.set_count(1);
  EXPECT_EQ(unsigned_log.Entries(request)->entries(0).data(), "a");
}

TEST_F(TransparencyLogTest, CheckpointsAreSignedOverTheStoredTreeAndStored) {
  Append({"a", "b", "c"});
  auto three = CheckpointOf(3);
  ASSERT_TRUE(three.ok()) << three.status();
  EXPECT_EQ(three->size, 3u);
  EXPECT_EQ(three->root, *store_->LogRoot(3));
  auto stored = store_->LatestCheckpoint();
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((*stored)->size, 3u);
  EXPECT_TRUE(signer_->SignedCheckpoint((*stored)->note));

  Append({"d", "e"});
  auto five = CheckpointOf(5);
  ASSERT_TRUE(five.ok()) << five.status();
  EXPECT_EQ(five->root, *store_->LogRoot(5));
  // The new tree is shown consistent with the one published before.
  v1::GetConsistencyProofRequest request;
  request.set_old_size(3);
  auto proof = log_->ConsistencyProof(request);
  ASSERT_TRUE(proof.ok()) << proof.status();
  EXPECT_EQ(proof->new_size(), 5u);
  EXPECT_FALSE(proof->checkpoint().empty());
  std::vector<crypto::Hash> hashes;
  for (const auto& h : proof->hashes()) hashes.push_back(ToHash(h));
  EXPECT_TRUE(crypto::VerifyConsistency(3, 5, three->root, five->root, hashes));
  EXPECT_EQ((*store_->LatestCheckpoint())->size, 5u);
}

TEST_F(TransparencyLogTest, ACheckpointOfARetiredKeyIsSignedAgain) {
  Append({"a", "b"});
  // Stored before a key rotation: signed by a key this signer is not.
  const crypto::Hash root = *store_->LogRoot(2);
  const std::string old_note = crypto::SignCheckpoint(
      {kTestOrigin, 2, root}, kTestOrigin, files_->root_key);
  ASSERT_TRUE(store_->SaveCheckpoint({2, root, old_note}).ok());
  auto served = CheckpointOf(2);
  ASSERT_TRUE(served.ok()) << served.status();  // Verified with today's key.
  EXPECT_EQ(served->root, root);
}

TEST_F(TransparencyLogTest, ProofsVerifyAgainstTheCheckpointTheyCarry) {
  std::vector<std::string> entries;
  for (int i = 0; i < 9; ++i) entries.push_back("entry " + std::to_string(i));
  Append(entries);
  auto checkpoint = CheckpointOf(9);
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
  for (uint64_t i = 0; i < 9; ++i) {
    v1::GetInclusionProofRequest request;
    request.set_index(i);
    auto proof = log_->InclusionProof(request);
    ASSERT_TRUE(proof.ok()) << proof.status();
    auto carried = crypto::VerifyCheckpoint(proof->checkpoint(), kTestOrigin,
                                            files_->signing_key.public_key());
    ASSERT_TRUE(carried.ok()) << carried.status();
    EXPECT_EQ(proof->tree_size(), carried->size);
    std::vector<crypto::Hash> hashes;
    for (const auto& h : proof->hashes()) hashes.push_back(ToHash(h));
    EXPECT_TRUE(crypto::VerifyInclusion(crypto::LeafHash(entries[i]), i,
                                        carried->size, hashes, carried->root))
        << i;
    auto bundle_proof = log_->ProveEntry(i);
    ASSERT_TRUE(bundle_proof.ok()) << bundle_proof.status();
    EXPECT_EQ(bundle_proof->index, i);
    EXPECT_TRUE(crypto::VerifyInclusion(
        crypto::LeafHash(entries[i]), i, bundle_proof->tree_size,
        bundle_proof->inclusion, carried->root));
  }
  // At an explicit size: no checkpoint, the root of that size.
  v1::GetInclusionProofRequest at4;
  at4.set_index(1);
  at4.set_tree_size(4);
  auto proof = log_->InclusionProof(at4);
  ASSERT_TRUE(proof.ok());
  EXPECT_TRUE(proof->checkpoint().empty());
  std::vector<crypto::Hash> hashes;
  for (const auto& h : proof->hashes()) hashes.push_back(ToHash(h));
  EXPECT_TRUE(crypto::VerifyInclusion(crypto::LeafHash(entries[1]), 1, 4,
                                      hashes, *store_->LogRoot(4)));
  v1::GetInclusionProofRequest beyond;
  beyond.set_index(9);
  beyond.set_tree_size(9);
  EXPECT_EQ(log_->InclusionProof(beyond).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(TransparencyLogTest, EntriesAreServedWithinBounds) {
  v1::GetEntriesRequest request;
  request.set_count(5);
  auto empty = log_->Entries(request);
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(empty->entries_size(), 0);
  Append({"a", "b", "c"});
  request.set_start(1);
  auto some = log_->Entries(request);
  ASSERT_TRUE(some.ok());
  EXPECT_EQ(some->tree_size(), 3u);
  ASSERT_EQ(some->entries_size(), 2);
  EXPECT_EQ(some->entries(0).index(), 1u);
  EXPECT_EQ(some->entries(1).data(), "c");
  for (uint32_t count : {0u, kMaxEntriesPerCall + 1}) {
    request.set_count(count);
    auto s = log_->Entries(request).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("count"), std::string::npos) << s;
  }
  request.set_count(1);
  request.set_start(3);
  auto s = log_->Entries(request).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("start"), std::string::npos) << s;
}

}  // namespace
}  // namespace loupe::server
