#pragma once

// The registry's transparency log as callers see it: signed checkpoints,
// proofs and entries, in absl::Status terms (no gRPC here). Entries are
// appended by the store's writes; this class publishes checkpoints of what
// is durable, signing one when the tree has grown since the last, and
// records each before handing it out, so that every later tree is shown to
// be consistent with it. Thread-safe.

#include <mutex>
#include <optional>

#include "absl/status/statusor.h"
#include "crypto/log_entry.h"
#include "loupe/v1/log.pb.h"
#include "server/signer.h"
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

  // The newest checkpoint, signed now if the tree grew since the last one.
  [[nodiscard]] absl::StatusOr<v1::SignedCheckpoint> Checkpoint();
  // tree_size 0 = the newest checkpoint's; then the checkpoint is attached.
  [[nodiscard]] absl::StatusOr<v1::InclusionProof> InclusionProof(
      const v1::GetInclusionProofRequest& request);
  [[nodiscard]] absl::StatusOr<v1::ConsistencyProof> ConsistencyProof(
      const v1::GetConsistencyProofRequest& request);
  // INVALID_ARGUMENT naming count if it is 0 or above kMaxEntriesPerCall.
  [[nodiscard]] absl::StatusOr<v1::GetEntriesResponse> Entries(
      const v1::GetEntriesRequest& request);

  // The proof for a bundle: entry `index` against the newest checkpoint.
  [[nodiscard]] absl::StatusOr<crypto::LogProof> ProveEntry(uint64_t index);

 private:
  [[nodiscard]] absl::StatusOr<storage::Store::CheckpointRecord> Latest();

  storage::Store* store_;
  const CertificateSigner* signer_;
  std::mutex publish_mu_;  // One signer of new checkpoints at a time.
  // The newest checkpoint published, so that reads of an unchanged tree do
  // not go to storage. Guarded by publish_mu_.
  std::optional<storage::Store::CheckpointRecord> latest_;
};

}  // namespace loupe::server
