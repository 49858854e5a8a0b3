#pragma once

// The log read from its static copy (C2SP tlog-tiles, as the registry's
// TilePublisher writes it to a bucket or directory, possibly behind a
// CDN): the checkpoint, the trust roots, and proofs rebuilt from the hash
// tiles, so that `loupe log audit --log-url` and `loupe verify --log-url`
// work with the registry down. Nothing fetched is trusted: the checkpoint
// is verified by the caller against the trust root it holds; proofs built
// here from tiles are verified against that checkpoint's root, and a tile
// that does not fit is named (DATA_LOSS). Not thread-safe.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/log_entry.h"
#include "crypto/merkle.h"

namespace loupe::client {

// The bytes of one object of the copy by key ("checkpoint",
// "tile/0/x001/234"). NOT_FOUND if there is none; UNAVAILABLE if the copy
// cannot be reached.
using StaticFetcher =
    std::function<absl::StatusOr<std::string>(const std::string& key)>;

// GETs base_url + "/" + key with libcurl (http, https or file URLs), at
// most 32 MiB an object, 30 s a request.
[[nodiscard]] StaticFetcher HttpStaticFetcher(std::string base_url);

// "tile/<L>/<N>[.p/<W>]" or "tile/entries/<N>[.p/<W>]" (level -1).
[[nodiscard]] std::string StaticTileKey(int level, uint64_t index, int width);

class StaticLog {
 public:
  explicit StaticLog(StaticFetcher fetch) : fetch_(std::move(fetch)) {}

  // The signed note under "checkpoint".
  [[nodiscard]] absl::StatusOr<std::string> Checkpoint();
  // The trust roots (DSSE JSON) under "trust-root.json"; none if absent.
  [[nodiscard]] absl::StatusOr<std::vector<std::string>> TrustRoots();

  // What follows reads the tiles of the tree of `size` entries, as its
  // checkpoint (of that size) promises them.
  // The root of the tree rebuilt from the tiles; on a mismatch with
  // `expected`, DATA_LOSS naming the tiles it used.
  [[nodiscard]] absl::Status CheckRoot(uint64_t size,
                                       const crypto::Hash& expected);
  // Proofs built from tiles (RFC 9162), to be verified by the caller.
  [[nodiscard]] absl::StatusOr<std::vector<crypto::Hash>> InclusionProof(
      uint64_t index, uint64_t size);
  [[nodiscard]] absl::StatusOr<std::vector<crypto::Hash>> ConsistencyProof(
      uint64_t old_size, uint64_t size);
  // Every hash tile, and with `entries` every entry bundle, of the tree:
  // first the root (CheckRoot), then each full tile against the verified
  // level above it, top down, then each bundle against level 0. DATA_LOSS
  // naming the first tile or bundle that does not fit.
  [[nodiscard]] absl::Status CheckAll(uint64_t size, const crypto::Hash& root,
                                      bool entries);

  // The tiles read since the last call (for messages).
  [[nodiscard]] std::vector<std::string> TakeTilesRead();

 private:
  // The hashes of a tile of the tree of `size` (width from the size);
  // DATA_LOSS if it is not 32 x width bytes.
  absl::StatusOr<const std::vector<crypto::Hash>*> Tile(int level,
                                                        uint64_t index,
                                                        uint64_t size);
  // The root of the complete subtree at tree level k, index i.
  absl::StatusOr<crypto::Hash> Node(int k, uint64_t i, uint64_t size);
  // MTH of leaves [begin, end) of the tree of `size`.
  absl::StatusOr<crypto::Hash> Subtree(uint64_t begin, uint64_t end,
                                       uint64_t size);
  absl::Status CheckBundle(uint64_t index, uint64_t size);

  StaticFetcher fetch_;
  std::map<std::string, std::vector<crypto::Hash>> tiles_;
  std::vector<std::string> read_;
};

// For `loupe verify --log-url`: a proof of `entry` (at held->index or
// `index`) against the copy's checkpoint, built from its tiles. Refuses a
// copy whose checkpoint is older than `held` (a verified checkpoint the
// bundle carries), or whose tree is not consistent with it (a fork), and
// names the tiles when the proof they give does not reach the copy's
// root. The checkpoint's signature is the caller's to check.
[[nodiscard]] absl::StatusOr<crypto::LogProof> ProveFromCopy(
    StaticLog& copy, uint64_t index,
    const std::optional<crypto::Checkpoint>& held, std::string_view entry);

}  // namespace loupe::client
