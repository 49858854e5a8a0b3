#include "server/ops/migrate.h"

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "base/str_cat.h"
#include "crypto/sha256.h"
#include "server/ops/restore.h"
#include "server/storage/open_store.h"

namespace loupe::server {
namespace {

using storage::Store;
using storage::Transaction;

constexpr size_t kPage = 500;
constexpr size_t kLogBatch = 1000;
constexpr int kInFlight = 64;

// Commits submitted without waiting, at most kInFlight at once; the first
// error is kept. Thread-safe.
class Window {
 public:
  explicit Window(Store* store) : store_(store) {}
  ~Window() { (void)Drain(); }

  void Submit(Store::Work work) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return in_flight_ < kInFlight; });
    ++in_flight_;
    lock.unlock();
    store_->Commit(std::move(work), [this](absl::Status s) {
      std::lock_guard lock(mu_);
      if (!s.ok() && first_error_.ok()) first_error_ = s;
      --in_flight_;
      cv_.notify_all();
    });
  }
  [[nodiscard]] absl::Status Drain() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return in_flight_ == 0; });
    return first_error_;
  }

 private:
  Store* store_;
  std::mutex mu_;
  std::condition_variable cv_;
  int in_flight_ = 0;
  absl::Status first_error_;
};

struct Counts {
  uint64_t pieces = 0, versions = 0, certificates = 0, owners = 0;
  uint64_t assets = 0, asset_bytes = 0, log_entries = 0;
};

// One piece with everything hanging off it, read from `src`.
struct PieceCopy {
  v1::Piece piece;
  std::vector<v1::TwinVersion> versions;
  std::vector<v1::Certificate> certificates;
  std::vector<v1::OwnerRecord> owners;
};

absl::StatusOr<PieceCopy> ReadPiece(Store& src, const v1::Piece& piece) {
  PieceCopy copy{piece, {}, {}, {}};
  for (uint32_t after = 0;;) {
    auto page = src.ListVersions(piece.id(), after, kPage);
    if (!page.ok()) return page.status();
    for (auto& v : page->versions) copy.versions.push_back(std::move(v));
    if (!page->last_number) break;
    after = *page->last_number;
  }
  auto certificates = src.ListCertificates(piece.id());
  if (!certificates.ok()) return certificates.status();
  copy.certificates = *std::move(certificates);
  auto owners = src.ListOwners(piece.id());
  if (!owners.ok()) return owners.status();
  copy.owners = *std::move(owners);
  return copy;
}

// Copies one asset's bytes (verified as they are read) and records each
// of `studios` that uploaded it in `src` as an uploader in `dst`.
absl::Status CopyAsset(Store& src, Store& dst, const crypto::Sha256Digest& sha,
                       const std::set<std::string>& studios, Counts& counts) {
  std::vector<std::string> uploaders;
  for (const auto& studio : studios) {
    auto by = src.IsAssetUploadedBy(sha, studio);
    if (!by.ok()) return by.status();
    if (*by) uploaders.push_back(studio);
  }
  if (uploaders.empty()) uploaders.push_back(*studios.begin());
  for (const auto& studio : uploaders) {
    auto reader = src.OpenAsset(sha);
    if (!reader.ok()) return reader.status();
    auto writer = dst.BeginUpload();
    if (!writer.ok()) return writer.status();
    for (;;) {
      auto chunk = (*reader)->NextChunk();
      if (!chunk.ok()) return chunk.status();
      if (!chunk->has_value()) break;
      if (auto s = (*writer)->Append(**chunk); !s.ok()) return s;
    }
    auto commit = (*writer)->Commit((*reader)->size_bytes(), sha, studio);
    if (!commit.ok()) return commit.status();
    if (!commit->deduplicated) {
      ++counts.assets;
      counts.asset_bytes += commit->size_bytes;
    }
  }
  return absl::OkStatus();
}

absl::Status CheckEmpty(Store& dst) {
  auto size = dst.LogSize();
  if (!size.ok()) return size.status();
  auto pieces = dst.ListPieces("", "", 1);
  if (!pieces.ok()) return pieces.status();
  if (*size > 0 || !pieces->pieces.empty()) {
    return absl::FailedPreconditionError(
        "--to: the destination already holds a registry; migrate into an "
        "empty database");
  }
  return absl::OkStatus();
}

// Pieces, versions, certificates, owners and their assets.
absl::Status CopyRecords(Store& src, Store& dst, Counts& counts,
                         std::ostream& out) {
  // Every studio, for the assets' uploaders.
  std::set<std::string> studios;
  std::vector<v1::Piece> pieces;
  for (std::string after;;) {
    auto page = src.ListPieces("", after, kPage);
    if (!page.ok()) return page.status();
    for (auto& p : page->pieces) {
      studios.insert(p.studio_id());
      pieces.push_back(std::move(p));
    }
    if (!page->last_key) break;
    after = *page->last_key;
  }
  out << "copying " << pieces.size() << " pieces" << std::endl;
  std::set<std::string> copied_assets;
  Window window(&dst);
  for (const auto& piece : pieces) {
    auto copy = ReadPiece(src, piece);
    if (!copy.ok()) return copy.status();
    for (const auto& v : copy->versions) {
      for (const auto& a : v.assets()) {
        if (!copied_assets.insert(a.sha256()).second) continue;
        auto sha = crypto::ParseSha256Hex(a.sha256());
        if (!sha.ok()) continue;  // Not stored under a digest: no bytes.
        if (auto s = CopyAsset(src, dst, *sha, studios, counts); !s.ok()) {
          return s;
        }
      }
    }
    counts.versions += copy->versions.size();
    counts.certificates += copy->certificates.size();
    counts.owners += copy->owners.size();
    window.Submit([copy = *std::move(copy)](Transaction& txn) {
      txn.InsertPiece(copy.piece);
      for (const auto& v : copy.versions) txn.InsertVersion(v);
      for (const auto& c : copy.certificates) txn.InsertCertificate(c);
      for (const auto& o : copy.owners) txn.InsertOwner(copy.piece.id(), o);
      return absl::OkStatus();
    });
    if (++counts.pieces % 1000 == 0) {
      out << "  " << counts.pieces << " pieces" << std::endl;
    }
  }
  return window.Drain();
}

// The log's entries in order, at the same indexes, then the checkpoint.
absl::Status CopyLog(Store& src, Store& dst, Counts& counts,
                     std::ostream& out) {
  auto size = src.LogSize();
  if (!size.ok()) return size.status();
  out << "copying " << *size << " log entries" << std::endl;
  while (counts.log_entries < *size) {
    auto entries = src.LogEntries(counts.log_entries, kLogBatch);
    if (!entries.ok()) return entries.status();
    if (entries->empty()) {
      return absl::DataLossError(
          StrCat("source log: no entry at ", counts.log_entries));
    }
    const uint64_t first = counts.log_entries;
    // Recorded checks are found through their log entries (each has one),
    // cited or not, and copied with them.
    std::vector<v1::GeometryCheck> checks;
    for (const auto& entry : *entries) {
      if (entry.find("\"type\":\"check\"") == std::string::npos) continue;
      const auto json = nlohmann::json::parse(entry, nullptr, false);
      if (!json.is_object() || json.value("type", "") != "check") continue;
      auto check = src.GetCheck(json.value("check_id", ""));
      if (!check.ok()) return check.status();
      checks.push_back(*std::move(check));
    }
    // Waited for batch by batch: the indexes follow the order.
    absl::Status s = dst.CommitAndWait([&](Transaction& txn) -> absl::Status {
      for (size_t i = 0; i < entries->size(); ++i) {
        auto index = txn.AppendLog((*entries)[i]);
        if (!index.ok()) return index.status();
        if (*index != first + i) {
          return absl::FailedPreconditionError(
              StrCat("--to: entry ", first + i, " landed at index ", *index,
                     ": is something else writing to the destination?"));
        }
      }
      for (const auto& c : checks) txn.InsertCheck(c);
      return absl::OkStatus();
    });
    if (!s.ok()) return s;
    counts.log_entries += entries->size();
    if (counts.log_entries % 100'000 < kLogBatch) {
      out << "  " << counts.log_entries << " entries" << std::endl;
    }
  }
  auto checkpoint = src.LatestCheckpoint();
  if (!checkpoint.ok()) return checkpoint.status();
  if (!*checkpoint) return absl::OkStatus();
  return dst.SaveCheckpoint(**checkpoint);
}

absl::Status Prove(Store& src, Store& dst, const Counts& counts,
                   std::ostream& out) {
  std::vector<std::string> differ;
  auto check = [&](std::string_view what, uint64_t a, uint64_t b) {
    if (a != b) differ.push_back(StrCat(what, ": source ", a, ", copy ", b));
  };
  auto checkpoint = src.LatestCheckpoint();
  if (!checkpoint.ok()) return checkpoint.status();
  if (*checkpoint) {
    auto root = dst.LogRoot((*checkpoint)->size);
    if (!root.ok()) return root.status();
    if (*root != (*checkpoint)->root) {
      differ.push_back(StrCat("the copy's log root at ", (*checkpoint)->size,
                              " differs from the signed checkpoint's"));
    } else {
      out << "log root at the signed checkpoint (" << (*checkpoint)->size
          << " entries) matches" << std::endl;
    }
  }
  auto src_size = src.LogSize();
  auto dst_size = dst.LogSize();
  if (!src_size.ok()) return src_size.status();
  if (!dst_size.ok()) return dst_size.status();
  check("log entries", *src_size, *dst_size);
  out << "scrubbing the source and the copy" << std::endl;
  auto a = src.Scrub();
  if (!a.ok()) return a.status();
  auto b = dst.Scrub();
  if (!b.ok()) return b.status();
  PrintScrubReport(*b, out);
  check("pieces", a->pieces, b->pieces);
  check("versions", a->versions, b->versions);
  check("certificates", a->certificates, b->certificates);
  check("pieces copied", a->pieces, counts.pieces);
  check("log entries scrubbed", a->log_entries, b->log_entries);
  if (a->assets > b->assets) {
    out << "note: " << a->assets - b->assets
        << " asset(s) that no version names were not copied" << std::endl;
  }
  for (const auto& p : b->problems) differ.push_back(p);
  if (!differ.empty()) {
    for (const auto& d : differ) out << "  DIFFERS: " << d << "\n";
    return absl::DataLossError(
        StrCat("the copy does not prove out (", differ.size(),
               " problem(s)); the first: ", differ.front()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status MigrateRegistry(const v1::ServerConfig& from,
                             const v1::ServerConfig& to, std::ostream& out) {
  auto src = storage::OpenExistingStore(from);
  if (!src.ok()) return src.status();
  if (auto s = (*src)->LogHealth(); !s.ok()) return s;
  auto dst = storage::OpenStore(to);
  if (!dst.ok()) return dst.status();
  if (auto s = CheckEmpty(**dst); !s.ok()) return s;
  Counts counts;
  if (auto s = CopyRecords(**src, **dst, counts, out); !s.ok()) return s;
  if (auto s = CopyLog(**src, **dst, counts, out); !s.ok()) return s;
  out << "copied: " << counts.pieces << " pieces, " << counts.versions
      << " versions, " << counts.certificates << " certificates, "
      << counts.owners << " owners, " << counts.assets << " assets ("
      << counts.asset_bytes << " bytes), " << counts.log_entries
      << " log entries" << std::endl;
  if (auto s = Prove(**src, **dst, counts, out); !s.ok()) return s;
  out << "migrated: the copy proves out" << std::endl;
  return absl::OkStatus();
}

}  // namespace loupe::server
