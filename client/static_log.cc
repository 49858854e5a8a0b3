#include "client/static_log.h"

#include <curl/curl.h>

#include <algorithm>
#include <bit>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "base/str_cat.h"
#include "crypto/checkpoint.h"

namespace loupe::client {
namespace {

constexpr int kWidth = 256;
constexpr size_t kMaxObject = 32u << 20;

struct Body {
  std::string bytes;
  bool too_big = false;
};

size_t Collect(char* data, size_t size, size_t n, void* user) {
  auto* body = static_cast<Body*>(user);
  if (body->bytes.size() + size * n > kMaxObject) {
    body->too_big = true;
    return 0;
  }
  body->bytes.append(data, size * n);
  return size * n;
}

std::string EncodeIndex(uint64_t index) {
  std::vector<int> groups;
  do {
    groups.push_back(static_cast<int>(index % 1000));
    index /= 1000;
  } while (index > 0);
  std::string out;
  for (size_t i = groups.size(); i-- > 0;) {
    char b[8];
    std::snprintf(b, sizeof b, "%s%03d", i > 0 ? "x" : "", groups[i]);
    out += b;
    if (i > 0) out += '/';
  }
  return out;
}

uint64_t Split(uint64_t n) { return std::bit_floor(n - 1); }

std::string Join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out;
}

}  // namespace

StaticFetcher HttpStaticFetcher(std::string base_url) {
  while (!base_url.empty() && base_url.back() == '/') base_url.pop_back();
  return [base = std::move(base_url)](
             const std::string& key) -> absl::StatusOr<std::string> {
    const std::string url = StrCat(base, "/", key);
    CURL* curl = curl_easy_init();
    if (curl == nullptr) return absl::InternalError("libcurl: cannot start");
    Body body;
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https,file");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    const CURLcode rc = curl_easy_perform(curl);
    long code = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(curl);
    if (body.too_big) {
      return absl::DataLossError(
          StrCat(url, ": larger than any object of a log (32 MiB)"));
    }
    if (rc == CURLE_FILE_COULDNT_READ_FILE || code == 404) {
      return absl::NotFoundError(StrCat(url, ": not found"));
    }
    if (rc != CURLE_OK) {
      return absl::UnavailableError(StrCat(url, ": ", curl_easy_strerror(rc)));
    }
    // file:// URLs have no status code.
    if (code != 200 && code != 0) {
      return absl::UnavailableError(StrCat(url, ": HTTP ", code));
    }
    return std::move(body.bytes);
  };
}

std::string StaticTileKey(int level, uint64_t index, int width) {
  return StrCat("tile/", level < 0 ? std::string("entries") : StrCat(level),
                "/", EncodeIndex(index),
                width < kWidth ? StrCat(".p/", width) : std::string());
}

absl::StatusOr<std::string> StaticLog::Checkpoint() {
  return fetch_("checkpoint");
}

absl::StatusOr<std::vector<std::string>> StaticLog::TrustRoots() {
  auto text = fetch_("trust-root.json");
  if (absl::IsNotFound(text.status())) return std::vector<std::string>();
  if (!text.ok()) return text.status();
  auto json = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object() || !json.contains("roots") ||
      !json["roots"].is_array()) {
    return absl::DataLossError(
        "trust-root.json: not {\"roots\": [...]} (the copy is damaged)");
  }
  std::vector<std::string> roots;
  for (const auto& r : json["roots"]) roots.push_back(r.dump());
  return roots;
}

std::vector<std::string> StaticLog::TakeTilesRead() {
  std::vector<std::string> out;
  out.swap(read_);
  return out;
}

absl::StatusOr<const std::vector<crypto::Hash>*> StaticLog::Tile(
    int level, uint64_t index, uint64_t size) {
  const uint64_t nodes = size >> (8 * level);
  if (index * kWidth >= nodes) {
    return absl::InternalError(
        StrCat("tile ", level, "/", index, " is beyond a tree of ", size));
  }
  const int width =
      static_cast<int>(std::min<uint64_t>(kWidth, nodes - index * kWidth));
  const std::string key = StaticTileKey(level, index, width);
  if (std::find(read_.begin(), read_.end(), key) == read_.end()) {
    read_.push_back(key);
  }
  if (auto it = tiles_.find(key); it != tiles_.end()) return &it->second;
  auto bytes = fetch_(key);
  if (!bytes.ok()) {
    return absl::Status(bytes.status().code(),
                        StrCat(key, ": ", bytes.status().message()));
  }
  if (bytes->size() != static_cast<size_t>(width) * 32) {
    return absl::DataLossError(StrCat(key, ": ", bytes->size(), " bytes, not ",
                                      width * 32, " (the copy is damaged)"));
  }
  std::vector<crypto::Hash> hashes(width);
  for (int i = 0; i < width; ++i) {
    hashes[i] = crypto::HashFromBytes(std::string_view(*bytes).substr(32 * i));
  }
  return &(tiles_[key] = std::move(hashes));
}

absl::StatusOr<crypto::Hash> StaticLog::Node(int k, uint64_t i, uint64_t size) {
  const int level = k / 8, r = k % 8;
  const uint64_t first = i << r;  // At tree level 8 x level.
  auto tile = Tile(level, first / kWidth, size);
  if (!tile.ok()) return tile.status();
  const uint64_t offset = first % kWidth;
  return crypto::SubtreeRoot(**tile, offset, offset + (uint64_t{1} << r));
}

absl::StatusOr<crypto::Hash> StaticLog::Subtree(uint64_t begin, uint64_t end,
                                                uint64_t size) {
  const uint64_t n = end - begin;
  if (n == 0) return crypto::EmptyTreeHash();
  if (std::has_single_bit(n) && begin % n == 0) {
    const int k = std::countr_zero(n);
    return Node(k, begin >> k, size);
  }
  const uint64_t split = Split(n);
  auto left = Subtree(begin, begin + split, size);
  if (!left.ok()) return left;
  auto right = Subtree(begin + split, end, size);
  if (!right.ok()) return right;
  return crypto::NodeHash(*left, *right);
}

absl::Status StaticLog::CheckRoot(uint64_t size, const crypto::Hash& expected) {
  (void)TakeTilesRead();  // Start a fresh record of the tiles read.
  auto root = Subtree(0, size, size);
  if (!root.ok()) return root.status();
  if (*root != expected) {
    return absl::DataLossError(
        StrCat("the tiles do not rebuild the checkpoint's root of ", size,
               " entries: one of ", Join(TakeTilesRead()),
               " was altered or swapped (a damaged or lying copy)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<crypto::Hash>> StaticLog::InclusionProof(
    uint64_t index, uint64_t size) {
  if (index >= size) {
    return absl::FailedPreconditionError(StrCat("the copy's checkpoint holds ",
                                                size, " entries, not entry ",
                                                index, ": a stale copy"));
  }
  std::vector<crypto::Hash> proof;
  uint64_t begin = 0, end = size;
  while (end - begin > 1) {
    const uint64_t split = Split(end - begin);
    const bool left = index - begin < split;
    auto sibling = left ? Subtree(begin + split, end, size)
                        : Subtree(begin, begin + split, size);
    if (!sibling.ok()) return sibling.status();
    proof.push_back(*sibling);
    (left ? end : begin) = begin + split;
  }
  std::reverse(proof.begin(), proof.end());
  return proof;
}

absl::StatusOr<std::vector<crypto::Hash>> StaticLog::ConsistencyProof(
    uint64_t old_size, uint64_t size) {
  if (old_size == 0 || old_size > size) {
    return absl::InvalidArgumentError(
        StrCat("old size ", old_size, " is not between 1 and ", size));
  }
  std::vector<crypto::Hash> proof;
  uint64_t begin = 0, end = size, m = old_size;
  bool whole_old_tree = true;
  for (;;) {
    const uint64_t n = end - begin;
    if (m == n) {
      if (!whole_old_tree) {
        auto h = Subtree(begin, end, size);
        if (!h.ok()) return h.status();
        proof.push_back(*h);
      }
      break;
    }
    const uint64_t split = Split(n);
    absl::StatusOr<crypto::Hash> h = m <= split
                                         ? Subtree(begin + split, end, size)
                                         : Subtree(begin, begin + split, size);
    if (!h.ok()) return h.status();
    proof.push_back(*h);
    if (m <= split) {
      end = begin + split;
    } else {
      begin += split;
      m -= split;
      whole_old_tree = false;
    }
  }
  std::reverse(proof.begin(), proof.end());
  return proof;
}

absl::Status StaticLog::CheckAll(uint64_t size, const crypto::Hash& root,
                                 bool entries) {
  if (size == 0) return absl::OkStatus();
  if (auto s = CheckRoot(size, root); !s.ok()) return s;
  int top = 0;
  while (top < 7 && (size >> (8 * (top + 1))) > 0) ++top;
  // Top down: a full tile at level L is the subtree under one node of
  // level L + 1, which is verified by then (by the root, or as part of a
  // full tile checked before).
  for (int level = top - 1; level >= 0; --level) {
    const uint64_t full = (size >> (8 * level)) / kWidth;
    for (uint64_t n = 0; n < full; ++n) {
      auto tile = Tile(level, n, size);
      if (!tile.ok()) return tile.status();
      auto parent = Tile(level + 1, n / kWidth, size);
      if (!parent.ok()) return parent.status();
      if (crypto::SubtreeRoot(**tile, 0, kWidth) != (**parent)[n % kWidth]) {
        return absl::DataLossError(StrCat(
            StaticTileKey(level, n, kWidth),
            ": its hashes do not hash to the verified node above them (in ",
            StaticTileKey(level + 1, n / kWidth,
                          static_cast<int>(std::min<uint64_t>(
                              kWidth, (size >> (8 * (level + 1))) -
                                          n / kWidth * kWidth))),
            "): the tile was altered or swapped"));
      }
      if (level == 0 && !entries) tiles_.erase(StaticTileKey(0, n, kWidth));
    }
  }
  if (!entries) return absl::OkStatus();
  for (uint64_t n = 0; n * kWidth < size; ++n) {
    if (auto s = CheckBundle(n, size); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status StaticLog::CheckBundle(uint64_t index, uint64_t size) {
  const int width =
      static_cast<int>(std::min<uint64_t>(kWidth, size - index * kWidth));
  const std::string key = StaticTileKey(-1, index, width);
  auto bytes = fetch_(key);
  if (!bytes.ok()) {
    return absl::Status(bytes.status().code(),
                        StrCat(key, ": ", bytes.status().message()));
  }
  auto tile = Tile(0, index, size);
  if (!tile.ok()) return tile.status();
  std::string_view rest = *bytes;
  for (int i = 0; i < width; ++i) {
    if (rest.size() < 2) {
      return absl::DataLossError(
          StrCat(key, ": ends before entry ", i, " of ", width));
    }
    const size_t n =
        (static_cast<uint8_t>(rest[0]) << 8) | static_cast<uint8_t>(rest[1]);
    if (rest.size() < 2 + n) {
      return absl::DataLossError(StrCat(key, ": entry ", i, " is cut short"));
    }
    if (crypto::LeafHash(rest.substr(2, n)) != (**tile)[i]) {
      return absl::DataLossError(StrCat(
          key, ": entry ", index * kWidth + i, " does not match its hash in ",
          StaticTileKey(0, index, width), ": the bundle was altered"));
    }
    rest.remove_prefix(2 + n);
  }
  if (!rest.empty()) {
    return absl::DataLossError(
        StrCat(key, ": ", rest.size(), " bytes after its ", width, " entries"));
  }
  tiles_.erase(StaticTileKey(0, index, width));
  return absl::OkStatus();
}

absl::StatusOr<crypto::LogProof> ProveFromCopy(
    StaticLog& copy, uint64_t index,
    const std::optional<crypto::Checkpoint>& held, std::string_view entry) {
  auto note = copy.Checkpoint();
  if (!note.ok()) return note.status();
  const size_t blank = note->find("\n\n");
  auto checkpoint = crypto::ParseCheckpointBody(std::string_view(*note).substr(
      0, blank == std::string::npos ? note->size() : blank + 1));
  if (!checkpoint.ok()) {
    return absl::DataLossError(
        StrCat("the copy's checkpoint: ", checkpoint.status().message()));
  }
  const uint64_t size = checkpoint->size;
  if (held && size < held->size) {
    return absl::FailedPreconditionError(StrCat(
        "the copy's checkpoint holds ", size,
        " entries, fewer than the signed checkpoint this bundle carries (",
        held->size, "): a stale or rolled-back copy, refused"));
  }
  if (auto s = copy.CheckRoot(size, checkpoint->root); !s.ok()) return s;
  if (held && held->size > 0) {
    bool consistent = held->root == checkpoint->root;
    if (held->size < size) {
      auto proof = copy.ConsistencyProof(held->size, size);
      if (!proof.ok()) return proof.status();
      consistent = crypto::VerifyConsistency(held->size, size, held->root,
                                             checkpoint->root, *proof);
    }
    if (!consistent) {
      return absl::DataLossError(
          StrCat("the copy's tree of ", size,
                 " entries is not consistent with the signed checkpoint of ",
                 held->size,
                 " this bundle carries: a forked or lying copy "
                 "(tiles read: ",
                 Join(copy.TakeTilesRead()), ")"));
    }
  }
  (void)copy.TakeTilesRead();  // Only the proof's tiles count below.
  auto inclusion = copy.InclusionProof(index, size);
  if (!inclusion.ok()) return inclusion.status();
  if (!crypto::VerifyInclusion(crypto::LeafHash(entry), index, size, *inclusion,
                               checkpoint->root)) {
    return absl::DataLossError(
        StrCat("the inclusion proof of entry ", index,
               " rebuilt from the copy's tiles does not reach its checkpoint's "
               "root: one of ",
               Join(copy.TakeTilesRead()),
               " was altered or swapped (a damaged or lying copy)"));
  }
  return crypto::LogProof{index, size, *std::move(inclusion), *std::move(note)};
}

}  // namespace loupe::client
