#include "server/log/transparency_log.h"

#include <set>

#include "base/str_cat.h"

namespace loupe::server {
namespace {

std::string Bytes(const crypto::Hash& h) {
  return std::string(reinterpret_cast<const char*>(h.data()), h.size());
}

}  // namespace

absl::StatusOr<storage::Store::CheckpointRecord> TransparencyLog::Latest(
    uint64_t at_least) {
  if (signer_ == nullptr) return Publish();  // Its error.
  // The log's health first: a damaged log serves no checkpoint.
  if (auto size = store_->LogSize(); !size.ok()) return size.status();
  {
    std::lock_guard lock(publish_mu_);
    if (latest_ && latest_->size >= at_least) return *latest_;
  }
  auto followed = Follow();
  if (!followed.ok()) return followed.status();
  if (*followed && (*followed)->size >= at_least) return **followed;
  return Publish();
}

absl::StatusOr<std::optional<storage::CheckpointRecord>>
TransparencyLog::Follow() {
  if (signer_ == nullptr) return Publish().status();  // Its error.
  auto stored = store_->LatestCheckpoint();
  if (!stored.ok()) return stored.status();
  std::lock_guard lock(publish_mu_);
  // A checkpoint signed by another key (a front end not yet restarted
  // after a key rotation) is not served: verifiers may not accept it.
  if (*stored && signer_->SignedCheckpoint((*stored)->note) &&
      (!latest_ || (*stored)->size > latest_->size ||
       ((*stored)->size == latest_->size && (*stored)->root == latest_->root &&
        (*stored)->note.size() > latest_->note.size()))) {
    latest_ = **stored;
  }
  return latest_;
}

absl::StatusOr<storage::Store::CheckpointRecord> TransparencyLog::Publish() {
  if (signer_ == nullptr) {
    return absl::FailedPreconditionError(
        "this registry has no signing key configured (signing.key_file), so "
        "it publishes no checkpoints");
  }
  std::lock_guard lock(publish_mu_);
  auto size = store_->LogSize();
  if (!size.ok()) return size.status();
  if (latest_ && latest_->size == *size) return *latest_;
  auto stored = store_->LatestCheckpoint();
  if (!stored.ok()) return stored.status();
  // After a key rotation the stored checkpoint is signed by the retired
  // key, which verifiers no longer accept: sign the same tree again.
  if (*stored && (*stored)->size == *size &&
      signer_->SignedCheckpoint((*stored)->note)) {
    latest_ = **stored;
    return *latest_;
  }
  auto root = store_->LogRoot(*size);
  if (!root.ok()) return root.status();
  storage::Store::CheckpointRecord record{
      *size, *root, signer_->SignCheckpoint(*size, *root)};
  if (auto s = store_->SaveCheckpoint(record); !s.ok()) return s;
  latest_ = record;
  return record;
}

void TransparencyLog::SetWitnesses(std::vector<crypto::Cosigner> witnesses,
                                   uint32_t quorum) {
  witnesses_ = std::move(witnesses);
  quorum_ = quorum;
}

void TransparencyLog::NoteWitnessed(
    const storage::Store::CheckpointRecord& record) {
  if (record.note == counted_note_) return;
  counted_note_ = record.note;
  auto cosigned = crypto::VerifyCosignatures(record.note, witnesses_);
  if (!cosigned.ok()) return;
  std::set<std::string> names;
  for (const auto& c : *cosigned) names.insert(c.name);
  if (names.size() < quorum_) return;
  if (witnessed_ && witnessed_->size > record.size) return;
  witnessed_ = record;
  ++cosignature_generation_;
}

absl::StatusOr<storage::Store::CheckpointRecord> TransparencyLog::Served() {
  auto latest = Latest();
  if (!latest.ok() || witnesses_.empty()) return latest;
  std::lock_guard lock(witness_mu_);
  NoteWitnessed(*latest);
  return witnessed_ ? *witnessed_ : *latest;
}

absl::Status TransparencyLog::AddCosignatures(
    const storage::Store::CheckpointRecord& cosigned) {
  {
    std::lock_guard lock(publish_mu_);
    if (latest_ && latest_->size == cosigned.size &&
        latest_->root == cosigned.root) {
      if (auto s = store_->SaveCheckpoint(cosigned); !s.ok()) return s;
      latest_ = cosigned;
    }
  }
  std::lock_guard lock(witness_mu_);
  NoteWitnessed(cosigned);
  ++cosignature_generation_;
  return absl::OkStatus();
}

absl::StatusOr<v1::SignedCheckpoint> TransparencyLog::Checkpoint() {
  auto latest = Served();
  if (!latest.ok()) return latest.status();
  v1::SignedCheckpoint out;
  out.set_note(latest->note);
  out.set_tree_size(latest->size);
  out.set_root_hash(Bytes(latest->root));
  out.set_origin(signer_->origin());
  for (const auto& root : signer_->Rotations()) {
    out.add_root_chain(crypto::EnvelopeToJson(root));
  }
  return out;
}

absl::StatusOr<v1::InclusionProof> TransparencyLog::InclusionProof(
    const v1::GetInclusionProofRequest& request) {
  v1::InclusionProof out;
  uint64_t size = request.tree_size();
  if (size == 0) {
    auto latest = Served();
    if (!latest.ok()) return latest.status();
    size = latest->size;
    out.set_checkpoint(latest->note);
  }
  auto proof = store_->LogInclusionProof(request.index(), size);
  if (!proof.ok()) return proof.status();
  out.set_index(request.index());
  out.set_tree_size(size);
  for (const auto& h : *proof) out.add_hashes(Bytes(h));
  return out;
}

absl::StatusOr<v1::ConsistencyProof> TransparencyLog::ConsistencyProof(
    const v1::GetConsistencyProofRequest& request) {
  v1::ConsistencyProof out;
  uint64_t size = request.new_size();
  if (size == 0) {
    auto latest = Served();
    if (!latest.ok()) return latest.status();
    size = latest->size;
    out.set_checkpoint(latest->note);
  }
  auto proof = store_->LogConsistencyProof(request.old_size(), size);
  if (!proof.ok()) return proof.status();
  out.set_old_size(request.old_size());
  out.set_new_size(size);
  for (const auto& h : *proof) out.add_hashes(Bytes(h));
  return out;
}

absl::StatusOr<v1::GetEntriesResponse> TransparencyLog::Entries(
    const v1::GetEntriesRequest& request) {
  if (request.count() == 0 || request.count() > kMaxEntriesPerCall) {
    return absl::InvalidArgumentError(
        StrCat("count: between 1 and ", kMaxEntriesPerCall));
  }
  auto size = store_->LogSize();
  if (!size.ok()) return size.status();
  if (request.start() >= *size && request.start() > 0) {
    return absl::InvalidArgumentError(StrCat("start: ", request.start(),
                                             " is beyond the log's ", *size,
                                             " entries"));
  }
  auto entries = store_->LogEntries(request.start(), request.count());
  if (!entries.ok()) return entries.status();
  v1::GetEntriesResponse out;
  out.set_tree_size(*size);
  for (size_t i = 0; i < entries->size(); ++i) {
    auto* e = out.add_entries();
    e->set_index(request.start() + i);
    e->set_data(std::move((*entries)[i]));
  }
  return out;
}

absl::StatusOr<crypto::LogProof> TransparencyLog::ProveEntry(uint64_t index) {
  auto latest = Latest(index + 1);
  if (!latest.ok()) return latest.status();
  if (!witnesses_.empty()) {
    // The newest witnessed checkpoint that holds the entry, if any: a
    // verifier requiring witnesses accepts it.
    std::lock_guard lock(witness_mu_);
    NoteWitnessed(*latest);
    if (witnessed_ && witnessed_->size > index) *latest = *witnessed_;
  }
  auto proof = store_->LogInclusionProof(index, latest->size);
  if (!proof.ok()) return proof.status();
  return crypto::LogProof{index, latest->size, *std::move(proof), latest->note};
}

}  // namespace loupe::server
