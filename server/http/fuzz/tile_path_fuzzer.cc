// libFuzzer target: tile paths come from anyone (GET /tile/...).
// ParseTilePath must refuse or accept any path without crashing; what it
// accepts is canonical (writes back to the same path) and addresses
// entries below 2^64.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "server/http/tiles.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace loupe::server::http;
  const std::string_view path(reinterpret_cast<const char*>(data), size);
  auto tile = ParseTilePath(path);
  if (!tile.ok()) return 0;
  if (TilePathString(*tile) != path) __builtin_trap();
  // The first entry covered, index * 256^(level+1), fits in 64 bits.
  const int bits = 8 * (tile->entries ? 1 : tile->level + 1);
  if (bits > 64 ||
      (bits == 64 ? tile->index != 0 : (tile->index >> (64 - bits)) != 0)) {
    __builtin_trap();
  }
  return 0;
}
