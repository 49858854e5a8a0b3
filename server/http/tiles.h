#pragma once

// C2SP tlog-tiles paths (../shared/reference/formats.md): a tile of the
// log's Merkle tree holds up to 256 hashes at tree level 8 x L; an entry
// bundle holds up to 256 entries, each prefixed by its length (2 bytes,
// big-endian). Paths: tile/<L>/<N>[.p/<W>] and tile/entries/<N>[.p/<W>],
// N in groups of three digits, all but the last prefixed with "x". Pure
// functions; thread-safe.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace loupe::server::http {

inline constexpr int kTileWidth = 256;

struct TilePath {
  bool entries = false;    // An entry bundle, else a hash tile.
  int level = 0;           // L (hash tiles only), 0..63.
  uint64_t index = 0;      // N.
  int width = kTileWidth;  // W: 1..255 for a partial tile, 256 if full.
  [[nodiscard]] bool full() const { return width == kTileWidth; }
};

// "x001/x234/067" for 1234067.
[[nodiscard]] std::string EncodeTileIndex(uint64_t index);

// Parses what follows "/tile/". INVALID_ARGUMENT naming the part that is
// wrong (level, index, width), e.g. a non-canonical index ("x1/2"), a
// leading zero group, a width of 0 or 256 after ".p/", an index whose first
// entry would be at or beyond 2^64 (N >= 2^(56 - 8L)).
[[nodiscard]] absl::StatusOr<TilePath> ParseTilePath(std::string_view path);

// The path of a tile, without the leading "/tile/".
[[nodiscard]] std::string TilePathString(const TilePath& tile);

// An entry bundle's bytes. INVALID_ARGUMENT if an entry is 65536 bytes or
// longer.
[[nodiscard]] absl::StatusOr<std::string> EntryBundle(
    const std::vector<std::string>& entries);

}  // namespace loupe::server::http
