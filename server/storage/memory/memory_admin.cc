// The in-memory engine's administration: scrub, the log's health, and
// backups (one file, memory-store.bin, of length-prefixed records).
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "base/str_cat.h"
#include "server/storage/keys.h"
#include "server/storage/memory/memory_state.h"
#include "server/storage/record.h"

namespace loupe::storage {
namespace {

constexpr size_t kChunkSize = 1 << 20;
constexpr char kBackupFile[] = "memory-store.bin";
constexpr char kMagic[] = "LOUPE-MEMORY-STORE 1\n";

void ScrubAssets(const MemoryState& state, ScrubReport* report) {
  for (const auto& [raw, asset] : state.assets) {
    ++report->assets;
    report->asset_bytes += asset.bytes.size();
    const std::string name = StrCat("asset ", crypto::ToHex(raw));
    if (crypto::ToHex(crypto::Sha256::Of(asset.bytes)) != crypto::ToHex(raw)) {
      report->problems.push_back(StrCat(name, ": the bytes fail its SHA-256"));
    }
    for (size_t i = 0; i < asset.chunk_digests.size(); ++i) {
      const auto chunk =
          std::string_view(asset.bytes).substr(i * kChunkSize, kChunkSize);
      if (crypto::Sha256::Of(chunk) != asset.chunk_digests[i]) {
        report->problems.push_back(StrCat(name, ": chunk ", i, " of ",
                                          asset.chunk_digests.size(),
                                          " fails its stored digest"));
      }
    }
  }
}

void ScrubLog(const MemoryState& state, ScrubReport* report) {
  std::vector<crypto::Hash> leaves;
  for (const auto& e : state.log) {
    if (crypto::LeafHash(e.entry) != e.leaf) {
      report->problems.push_back(
          StrCat("log entry ", leaves.size(),
                 ": its bytes no longer match its leaf hash (rewritten in "
                 "storage)"));
    }
    leaves.push_back(e.leaf);
  }
  report->log_entries = leaves.size();
  if (!state.checkpoint) return;
  const auto& published = *state.checkpoint;
  report->checkpoint_size = published.size;
  if (published.size > leaves.size()) {
    report->problems.push_back(StrCat("log: a checkpoint of ", published.size,
                                      " entries was signed but storage holds ",
                                      leaves.size()));
  } else if (crypto::SubtreeRoot(leaves, 0, published.size) != published.root) {
    report->problems.push_back(
        StrCat("log: the root of the first ", published.size,
               " stored entries differs from the signed checkpoint's"));
  }
}

void ScrubVersions(const MemoryState& state, const v1::Piece& piece,
                   ScrubReport* report) {
  const std::string name = StrCat("piece ", piece.id());
  const auto& versions = state.tables[kVersions];
  uint32_t number = 0;
  for (auto it = versions.lower_bound(keys::VersionPrefix(piece.id()));
       it != versions.end() &&
       it->first.starts_with(keys::VersionPrefix(piece.id()));
       ++it) {
    ++report->versions;
    ++number;
    auto v = DecodeRecord<v1::TwinVersion>(it->second, "version");
    if (!v.ok()) {
      report->problems.push_back(
          StrCat(name, ": version ", number, " is not readable"));
      continue;
    }
    if (v->piece_id() != piece.id() || v->number() != number ||
        v->parent_number() >= v->number()) {
      report->problems.push_back(StrCat(
          name, ": version ", number, " says it is version ", v->number(),
          " of ", v->piece_id(), " with parent ", v->parent_number()));
    }
    for (const auto& asset : v->assets()) {
      auto sha = crypto::ParseSha256Hex(asset.sha256());
      if (!sha.ok() || !state.assets.contains(std::string(
                           reinterpret_cast<const char*>(sha->data()), 32))) {
        report->problems.push_back(StrCat(name, ": version ", number,
                                          ": asset ", asset.sha256(),
                                          " is not stored"));
      }
    }
  }
  if (number != piece.current_version()) {
    report->problems.push_back(StrCat(name, ": current version is ",
                                      piece.current_version(), " but ", number,
                                      " are stored"));
  }
}

void ScrubRecords(const MemoryState& state, ScrubReport* report) {
  for (const auto& [id, raw] : state.tables[kPieces]) {
    ++report->pieces;
    auto piece = DecodeRecord<v1::Piece>(raw, "piece");
    if (!piece.ok() || piece->id() != id) {
      report->problems.push_back(StrCat("piece ", id, " is not readable"));
      continue;
    }
    ScrubVersions(state, *piece, report);
  }
  const auto& index = state.tables[kIndex];
  for (const auto& [key, raw] : state.tables[kCertificates]) {
    ++report->certificates;
    auto c = DecodeRecord<v1::Certificate>(raw, "certificate");
    if (!c.ok()) {
      report->problems.push_back("a certificate is not readable");
      continue;
    }
    auto it = index.find(keys::CertificateById(c->id()));
    if (it == index.end() || it->second != key) {
      report->problems.push_back(
          StrCat("certificate ", c->id(), ": its index entry is ",
                 it == index.end() ? "missing" : "wrong"));
    }
  }
}

// Length-prefixed strings.
void PutString(std::string* out, std::string_view s) {
  keys::PutBigEndian64(out, s.size());
  out->append(s);
}

class Cursor {
 public:
  explicit Cursor(std::string_view in) : in_(in) {}
  bool Get(std::string* out) {
    if (in_.size() < 8) return false;
    const uint64_t n = keys::GetBigEndian64(in_);
    if (in_.size() - 8 < n) return false;
    out->assign(in_.substr(8, n));
    in_.remove_prefix(8 + n);
    return true;
  }
  bool done() const { return in_.empty(); }

 private:
  std::string_view in_;
};

}  // namespace

ScrubReport ScrubMemory(MemoryState& state) {
  std::shared_lock lock(state.mu);
  ScrubReport report;
  ScrubAssets(state, &report);
  ScrubLog(state, &report);
  ScrubRecords(state, &report);
  return report;
}

absl::Status CheckMemoryLog(MemoryState& state) {
  std::shared_lock lock(state.mu);
  ScrubReport report;
  ScrubLog(state, &report);
  if (report.clean()) return absl::OkStatus();
  return absl::DataLossError(
      StrCat("transparency log: ", report.problems.front()));
}

absl::Status WriteMemoryBackup(MemoryState& state,
                               const std::string& directory) {
  std::string out = kMagic;
  {
    std::shared_lock lock(state.mu);
    for (int t = 0; t < kTableCount; ++t) {
      PutString(&out, StrCat("t", t));
      PutString(&out, std::to_string(state.tables[t].size()));
      for (const auto& [k, v] : state.tables[t]) {
        PutString(&out, k);
        PutString(&out, v);
      }
    }
    for (const auto& [raw, asset] : state.assets) {
      PutString(&out, "a");
      PutString(&out, raw);
      PutString(&out, asset.bytes);
    }
    for (const auto& e : state.log) {
      PutString(&out, "l");
      PutString(&out, std::string_view(
                          reinterpret_cast<const char*>(e.leaf.data()), 32));
      PutString(&out, e.entry);
    }
    if (state.checkpoint) {
      PutString(&out, "c");
      std::string size;
      keys::PutBigEndian64(&size, state.checkpoint->size);
      PutString(&out, size);
      PutString(&out, std::string_view(reinterpret_cast<const char*>(
                                           state.checkpoint->root.data()),
                                       32));
      PutString(&out, state.checkpoint->note);
    }
  }
  const auto path = std::filesystem::path(directory) / kBackupFile;
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(out.data(), static_cast<std::streamsize>(out.size()));
  file.close();
  if (!file) {
    return absl::InternalError(StrCat("cannot write ", path.string()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<MemoryState>> ReadMemoryBackup(
    const std::string& directory) {
  const auto path = std::filesystem::path(directory) / kBackupFile;
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return absl::NotFoundError(StrCat(
        "backup: ", directory, " holds no backup (no ", kBackupFile, ")"));
  }
  std::stringstream text;
  text << file.rdbuf();
  const std::string bytes = text.str();
  if (!std::string_view(bytes).starts_with(kMagic)) {
    return absl::DataLossError(StrCat(path.string(), " is not a backup"));
  }
  auto state = std::make_shared<MemoryState>();
  Cursor in(std::string_view(bytes).substr(sizeof(kMagic) - 1));
  const auto damaged =
      absl::DataLossError(StrCat(path.string(), " is damaged"));
  std::string tag, a, b, c;
  while (!in.done()) {
    if (!in.Get(&tag)) return damaged;
    if (tag.size() == 2 && tag[0] == 't' && tag[1] - '0' < kTableCount) {
      uint64_t n = 0;
      if (!in.Get(&a) || !absl::SimpleAtoi(a, &n)) return damaged;
      auto& table = state->tables[tag[1] - '0'];
      for (; n > 0; --n) {
        if (!in.Get(&b) || !in.Get(&c)) return damaged;
        table[b] = c;
      }
    } else if (tag == "a") {
      if (!in.Get(&a) || !in.Get(&b) || a.size() != 32) return damaged;
      auto& asset = state->assets[a];
      for (size_t at = 0; at < b.size(); at += kChunkSize) {
        asset.chunk_digests.push_back(
            crypto::Sha256::Of(std::string_view(b).substr(at, kChunkSize)));
      }
      asset.bytes = b;
    } else if (tag == "l") {
      if (!in.Get(&a) || !in.Get(&b) || a.size() != 32) return damaged;
      MemoryState::LogEntry e;
      std::copy(a.begin(), a.end(), e.leaf.begin());
      e.entry = b;
      state->log.push_back(std::move(e));
    } else if (tag == "c") {
      if (!in.Get(&a) || !in.Get(&b) || !in.Get(&c) || a.size() != 8 ||
          b.size() != 32) {
        return damaged;
      }
      CheckpointRecord r;
      r.size = keys::GetBigEndian64(a);
      std::copy(b.begin(), b.end(), r.root.begin());
      r.note = c;
      state->checkpoint = std::move(r);
    } else {
      return damaged;
    }
  }
  return state;
}

}  // namespace loupe::storage
