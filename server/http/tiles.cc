#include "server/http/tiles.h"

#include <charconv>
#include <cstdio>

#include "base/str_cat.h"

namespace loupe::server::http {
namespace {

bool ThreeDigits(std::string_view s, int* value) {
  if (s.size() != 3) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  *value = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
  return true;
}

// N from its groups ("x001", "x234", "067"). Canonical only: the first
// group is not zero unless it is the only one.
absl::StatusOr<uint64_t> ParseIndex(
    const std::vector<std::string_view>& parts) {
  auto bad = [&] {
    return absl::InvalidArgumentError(
        "index: tile indexes are written in groups of three digits, all but "
        "the last prefixed with x (1234067 is x001/x234/067)");
  };
  if (parts.empty() || parts.size() > 7) return bad();
  uint64_t index = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string_view p = parts[i];
    const bool last = i + 1 == parts.size();
    if (!last) {
      if (p.empty() || p[0] != 'x') return bad();
      p.remove_prefix(1);
    }
    int group;
    if (!ThreeDigits(p, &group)) return bad();
    if (i == 0 && group == 0 && !last) return bad();
    if (index > (UINT64_MAX - group) / 1000) return bad();
    index = index * 1000 + group;
  }
  return index;
}

std::vector<std::string_view> Split(std::string_view s) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    const size_t slash = s.find('/', start);
    parts.push_back(s.substr(start, slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return parts;
}

}  // namespace

std::string EncodeTileIndex(uint64_t index) {
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

absl::StatusOr<TilePath> ParseTilePath(std::string_view path) {
  std::vector<std::string_view> parts = Split(path);
  TilePath tile;
  if (parts.size() < 2) {
    return absl::InvalidArgumentError(
        "path: a tile is tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>]");
  }
  if (parts[0] == "entries") {
    tile.entries = true;
  } else {
    int level = -1;
    const auto [end, ec] = std::from_chars(
        parts[0].data(), parts[0].data() + parts[0].size(), level);
    // Digits only ("-0" would read as 0: one tile, two paths).
    if (ec != std::errc() || end != parts[0].data() + parts[0].size() ||
        parts[0].find_first_not_of("0123456789") != std::string_view::npos ||
        level < 0 || level > 63 ||
        (parts[0].size() > 1 && parts[0][0] == '0')) {
      return absl::InvalidArgumentError(
          StrCat("level: \"", parts[0], "\" is not a level 0..63"));
    }
    tile.level = level;
  }
  parts.erase(parts.begin());
  // A partial tile: the last group ends in ".p", then the width.
  if (parts.size() >= 2 && parts[parts.size() - 2].ends_with(".p")) {
    const std::string_view w = parts.back();
    int width = 0;
    const auto [end, ec] =
        std::from_chars(w.data(), w.data() + w.size(), width);
    if (ec != std::errc() || end != w.data() + w.size() || width < 1 ||
        width > 255 || w[0] == '0') {
      return absl::InvalidArgumentError(
          StrCat("width: \"", w, "\" is not a partial width 1..255"));
    }
    tile.width = width;
    parts.pop_back();
    parts.back().remove_suffix(2);
  }
  auto index = ParseIndex(parts);
  if (!index.ok()) return index.status();
  // The tile's first entry, N * 256^(L+1), must be one a log can have
  // (below 2^64), else N * 256 wraps around and a huge N reads as tile 0:
  // N < 2^(56 - 8L), so only N = 0 at level 7 and none above.
  const int free_bits = 56 - 8 * tile.level;
  if (free_bits < 0 || (*index >> free_bits) != 0) {
    return absl::InvalidArgumentError(
        StrCat("index: ", *index, " is beyond any log (at most 2^64 entries)"));
  }
  tile.index = *index;
  return tile;
}

std::string TilePathString(const TilePath& tile) {
  std::string out = tile.entries ? "entries" : StrCat(tile.level);
  out += '/';
  out += EncodeTileIndex(tile.index);
  if (!tile.full()) out += StrCat(".p/", tile.width);
  return out;
}

absl::StatusOr<std::string> EntryBundle(
    const std::vector<std::string>& entries) {
  std::string out;
  for (const auto& e : entries) {
    if (e.size() > 0xffff) {
      return absl::InvalidArgumentError(
          StrCat("entry: ", e.size(), " bytes do not fit a 2-byte length"));
    }
    out += static_cast<char>(e.size() >> 8);
    out += static_cast<char>(e.size() & 0xff);
    out += e;
  }
  return out;
}

}  // namespace loupe::server::http
