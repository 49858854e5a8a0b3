#pragma once

// The registry's transparency log as callers see it: signed checkpoints,
// proofs and entries, in absl::Status terms (no gRPC here). Entries are
// appended by the store's writes; Publish() signs a checkpoint of what is
// durable when the tree has grown since the last, and records it before
// anyone is shown it, so that every later tree is shown to be consistent
// with it. The CheckpointPublisher (checkpoint_publisher.h) calls Publish()
// on its own thread; reads are served the newest checkpoint published.
// Thread-safe.
//
// With witnesses (SetWitnesses), cosignatures gathered by the
// WitnessPublisher are stapled to the checkpoint they sign and stored with
// it; the checkpoint served (Checkpoint, proofs at size 0) is then the
// newest one that a quorum of witnesses cosigned, and a bundle's proof is
// against the newest such checkpoint that holds its entry (else the newest
// signed one, whose cosignatures come later: fetch the bundle again).

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/cosignature.h"
#include "crypto/log_entry.h"
#include "loupe/v1/log.pb.h"
#include "server/signing/signer.h"
#include "server/storage/store.h"

namespace loupe::server {

// At most this many entries per GetEntries call.
inline constexpr uint32_t kMaxEntriesPerCall = 1000;

class TransparencyLog {
 public:
  // Neither is owned. `signer` may be null: then checkpoints (and so
  // proofs against them) are FAILED_PRECONDITION.
  TransparencyLog(storage::Store* store, const CertificateSigner* signer)
      : store_(store), signer_(signer) {}

  // Before serving: the witnesses whose cosignatures count, and how many of
  // them make a checkpoint "witnessed" (1..witnesses.size()).
  void SetWitnesses(std::vector<crypto::Cosigner> witnesses, uint32_t quorum);

  // Signs and stores (synced) a checkpoint of the whole tree if it grew
  // since the newest one (or that one's key retired); returns the newest.
  // Slow (a signature and a synced write): the publisher's thread only,
  // and the rare fallback in ProveEntry.
  [[nodiscard]] absl::StatusOr<storage::Store::CheckpointRecord> Publish();
  // A front end that does not hold the publisher lease: adopts the newest
  // stored checkpoint (signed by this log's key; another front end
  // published it) if it is newer than the one held, or the same tree with
  // more cosignatures; returns the one held now, nullopt before any.
  [[nodiscard]] absl::StatusOr<std::optional<storage::CheckpointRecord>>
  Follow();
  // Store::TryHoldPublisherLease.
  [[nodiscard]] absl::StatusOr<bool> HoldPublisherLease(
      std::string_view holder, std::chrono::milliseconds ttl) {
    return store_->TryHoldPublisherLease(holder, ttl);
  }
  // Entries in the log now (DATA_LOSS if it is damaged).
  [[nodiscard]] absl::StatusOr<uint64_t> Size() { return store_->LogSize(); }

  // The checkpoint served: without witnesses the newest published; with
  // them the newest witnessed one (the newest published one until any
  // is), with its cosignatures.
  [[nodiscard]] absl::StatusOr<v1::SignedCheckpoint> Checkpoint();
  // The newest published checkpoint (what the witness publisher submits).
  [[nodiscard]] absl::StatusOr<storage::Store::CheckpointRecord> Newest() {
    return Latest();
  }
  // `cosigned`: a checkpoint this log signed, with the cosignature lines
  // verified so far appended to its note. Stored if it is still the newest;
  // served if a quorum cosigned it.
  [[nodiscard]] absl::Status AddCosignatures(
      const storage::Store::CheckpointRecord& cosigned);
  // Changes whenever cosignatures arrive (for caches of bundles).
  [[nodiscard]] uint64_t cosignature_generation() const {
    return cosignature_generation_.load();
  }
  // tree_size 0 = the newest checkpoint's; then the checkpoint is attached.
  [[nodiscard]] absl::StatusOr<v1::InclusionProof> InclusionProof(
      const v1::GetInclusionProofRequest& request);
  [[nodiscard]] absl::StatusOr<v1::ConsistencyProof> ConsistencyProof(
      const v1::GetConsistencyProofRequest& request);
  // INVALID_ARGUMENT naming count if it is 0 or above kMaxEntriesPerCall.
  [[nodiscard]] absl::StatusOr<v1::GetEntriesResponse> Entries(
      const v1::GetEntriesRequest& request);

  // The proof for a bundle: entry `index` against the newest checkpoint.
  // Callers wait until one holds the entry (CheckpointPublisher::
  // AfterCovering); if none does yet, one is published now.
  [[nodiscard]] absl::StatusOr<crypto::LogProof> ProveEntry(uint64_t index);

 private:
  // The newest published checkpoint, if it has at least `at_least`
  // entries; else the newest stored one (another front end's), if it has;
  // else (or before the first) Publish().
  [[nodiscard]] absl::StatusOr<storage::Store::CheckpointRecord> Latest(
      uint64_t at_least = 0);
  // Latest(), or the newest witnessed checkpoint when witnesses are set.
  [[nodiscard]] absl::StatusOr<storage::Store::CheckpointRecord> Served();
  // Takes `record` as witnessed if a quorum cosigned it and it is not older
  // than the one held. Needs witness_mu_.
  void NoteWitnessed(const storage::Store::CheckpointRecord& record);

  storage::Store* store_;
  const CertificateSigner* signer_;
  std::mutex publish_mu_;  // One signer of new checkpoints at a time.
  // The newest checkpoint published, so that reads of an unchanged tree do
  // not go to storage. Guarded by publish_mu_.
  std::optional<storage::Store::CheckpointRecord> latest_;

  std::vector<crypto::Cosigner> witnesses_;  // Set before serving.
  uint32_t quorum_ = 0;
  std::mutex witness_mu_;
  // The newest checkpoint a quorum cosigned, and the last note counted
  // (so an unchanged note is not verified again). Guarded by witness_mu_.
  std::optional<storage::Store::CheckpointRecord> witnessed_;
  std::string counted_note_;
  std::atomic<uint64_t> cosignature_generation_{0};
};

}  // namespace loupe::server
