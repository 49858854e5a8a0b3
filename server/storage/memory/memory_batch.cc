// One commit group of the in-memory engine: an overlay of writes over the
// committed maps, with save points, applied under one exclusive lock.
#include <array>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <shared_mutex>
#include <sstream>
#include <utility>
#include <vector>

#include "base/str_cat.h"
#include "server/storage/group_commit.h"
#include "server/storage/keys.h"
#include "server/storage/log_tree.h"
#include "server/storage/memory/memory_state.h"
#include "server/storage/record.h"

namespace loupe::storage {
namespace {

std::string RawSha(const crypto::Sha256Digest& d) {
  return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}

template <typename Message>
absl::StatusOr<std::optional<Message>> Decode(
    const std::optional<std::string>& raw, std::string_view what) {
  if (!raw) return std::nullopt;
  auto parsed = DecodeRecord<Message>(*raw, what);
  if (!parsed.ok()) return parsed.status();
  return *std::move(parsed);
}

// One commit group: writes over the committed state, with save points.
class MemoryBatch final : public GroupBatch, public Transaction {
 public:
  MemoryBatch(MemoryState* state, PendingLog* log)
      : state_(*state), log_(log) {}

  Transaction& transaction() override { return *this; }
  void SetSavePoint() override {
    save_points_.push_back({undo_.size(), log_entries_.size()});
  }
  void RollbackToSavePoint() override {
    const auto [undo, logged] = save_points_.back();
    save_points_.pop_back();
    while (undo_.size() > undo) {
      auto& [key, previous] = undo_.back();
      if (previous) {
        writes_[key] = *previous;
      } else {
        writes_.erase(key);
      }
      undo_.pop_back();
    }
    log_entries_.resize(logged);
  }
  void PopSavePoint() override { save_points_.pop_back(); }
  absl::Status Write() override {
    std::unique_lock lock(state_.mu);
    for (auto& [key, value] : writes_) {
      state_.tables[key.first][key.second] = std::move(value);
    }
    for (auto& e : log_entries_) state_.log.push_back(std::move(e));
    return absl::OkStatus();
  }

  absl::StatusOr<std::optional<v1::Piece>> FindPiece(
      std::string_view piece_id) override {
    return Decode<v1::Piece>(Get(kPieces, piece_id), "piece");
  }
  absl::StatusOr<std::optional<std::string>> FindPieceByReference(
      std::string_view studio_id, std::string_view reference) override {
    return Get(kIndex, keys::StudioReference(studio_id, reference));
  }
  absl::StatusOr<std::optional<v1::TwinVersion>> FindVersion(
      std::string_view piece_id, uint32_t number) override {
    return Decode<v1::TwinVersion>(
        Get(kVersions, keys::Version(piece_id, number)), "version");
  }
  absl::StatusOr<std::optional<v1::Certificate>> FindCertificate(
      std::string_view piece_id, uint32_t version) override {
    return Decode<v1::Certificate>(
        Get(kCertificates, keys::Version(piece_id, version)), "certificate");
  }
  absl::StatusOr<std::optional<uint64_t>> FindAssetSize(
      const crypto::Sha256Digest& sha256) override {
    std::shared_lock lock(state_.mu);
    auto it = state_.assets.find(RawSha(sha256));
    if (it == state_.assets.end()) return std::nullopt;
    return uint64_t{it->second.bytes.size()};
  }
  absl::StatusOr<bool> IsAssetUploadedBy(const crypto::Sha256Digest& sha256,
                                         std::string_view studio_id) override {
    return Get(kIndex, keys::AssetOwner(sha256, studio_id)).has_value();
  }
  absl::StatusOr<std::optional<v1::GeometryCheck>> FindCheck(
      std::string_view check_id) override {
    return Decode<v1::GeometryCheck>(Get(kIndex, keys::Check(check_id)),
                                     "check");
  }

  void InsertPiece(const v1::Piece& piece) override {
    UpdatePiece(piece);
    Put(kIndex,
        keys::StudioReference(piece.studio_id(), piece.studio_reference()),
        piece.id());
    Put(kIndex, keys::StudioPiece(piece.studio_id(), piece.id()), "");
  }
  void UpdatePiece(const v1::Piece& piece) override {
    Put(kPieces, piece.id(), EncodeRecord(piece));
  }
  void InsertVersion(const v1::TwinVersion& version) override {
    Put(kVersions, keys::Version(version.piece_id(), version.number()),
        EncodeRecord(version));
    for (const auto& asset : version.assets()) {
      auto sha = crypto::ParseSha256Hex(asset.sha256());
      if (sha.ok()) Put(kIndex, keys::PieceAsset(version.piece_id(), *sha), "");
    }
  }
  void InsertCertificate(const v1::Certificate& certificate) override {
    const std::string key =
        keys::Version(certificate.piece_id(), certificate.version());
    Put(kCertificates, key, EncodeRecord(certificate));
    Put(kIndex, keys::CertificateById(certificate.id()), key);
  }
  void InsertOwner(std::string_view piece_id,
                   const v1::OwnerRecord& owner) override {
    Put(kIndex, keys::Owner(piece_id, owner.sequence()), EncodeRecord(owner));
  }
  void InsertCheck(const v1::GeometryCheck& check) override {
    Put(kIndex, keys::Check(check.check_id()), EncodeRecord(check));
  }
  absl::StatusOr<uint64_t> AppendLog(std::string_view entry) override {
    auto reserved = log_->Reserve(entry);
    if (!reserved.ok()) return reserved.status();
    log_entries_.push_back({reserved->leaf, std::string(entry)});
    return reserved->index;
  }

 private:
  using Key = std::pair<int, std::string>;

  std::optional<std::string> Get(Table table, std::string_view key) {
    if (auto it = writes_.find(Key{table, std::string(key)});
        it != writes_.end()) {
      return it->second;
    }
    std::shared_lock lock(state_.mu);
    const auto& t = state_.tables[table];
    auto it = t.find(key);
    if (it == t.end()) return std::nullopt;
    return it->second;
  }
  void Put(Table table, std::string key, std::string value) {
    Key k{table, std::move(key)};
    auto it = writes_.find(k);
    undo_.push_back({k, it == writes_.end()
                            ? std::nullopt
                            : std::optional<std::string>(it->second)});
    writes_[std::move(k)] = std::move(value);
  }

  MemoryState& state_;
  PendingLog* log_;
  std::map<Key, std::string> writes_;
  std::vector<std::pair<Key, std::optional<std::string>>> undo_;
  std::vector<std::pair<size_t, size_t>> save_points_;
  std::vector<MemoryState::LogEntry> log_entries_;
};

}  // namespace

std::unique_ptr<GroupBatch> NewMemoryBatch(MemoryState* state,
                                           PendingLog* log) {
  return std::make_unique<MemoryBatch>(state, log);
}

}  // namespace loupe::storage
