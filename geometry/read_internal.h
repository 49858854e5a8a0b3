#pragma once

// Internal to the mesh readers: number parsing, line splitting, corner
// welding and the per-format entry points.

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <string_view>
#include <unordered_map>

#include "absl/status/statusor.h"
#include "geometry/read_mesh.h"

namespace loupe::geometry::internal {

// Parses a whole token as a double; false if it is not a number.
inline bool ParseDouble(std::string_view token, double* out) {
  if (!token.empty() && token[0] == '+') token.remove_prefix(1);
  const char* end = token.data() + token.size();
  auto [ptr, ec] = std::from_chars(token.data(), end, *out);
  return ec == std::errc() && ptr == end;
}

inline bool ParseInt(std::string_view token, int64_t* out) {
  if (!token.empty() && token[0] == '+') token.remove_prefix(1);
  const char* end = token.data() + token.size();
  auto [ptr, ec] = std::from_chars(token.data(), end, *out);
  return ec == std::errc() && ptr == end;
}

inline bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

// Splits `line` at white space into at most N tokens; returns the count
// (N + 1 if there were more).
template <size_t N>
size_t SplitTokens(std::string_view line, std::string_view (&tokens)[N]) {
  size_t n = 0, i = 0;
  while (i < line.size()) {
    while (i < line.size() && IsSpace(line[i])) ++i;
    if (i == line.size()) break;
    size_t j = i;
    while (j < line.size() && !IsSpace(line[j])) ++j;
    if (n == N) return N + 1;
    tokens[n++] = line.substr(i, j - i);
    i = j;
  }
  return n;
}

// Iterates over the lines of a text, counting them (from 1).
class LineReader {
 public:
  explicit LineReader(std::string_view text) : text_(text) {}
  bool Next(std::string_view* line) {
    if (pos_ >= text_.size()) return false;
    size_t end = text_.find('\n', pos_);
    if (end == std::string_view::npos) end = text_.size();
    *line = text_.substr(pos_, end - pos_);
    pos_ = end + 1;
    ++number_;
    return true;
  }
  [[nodiscard]] size_t number() const { return number_; }
  // The offset just after the last line read (never beyond the text).
  [[nodiscard]] size_t position() const { return std::min(pos_, text_.size()); }

 private:
  std::string_view text_;
  size_t pos_ = 0;
  size_t number_ = 0;
};

inline bool Finite(const Vec3& v) {
  return std::isfinite(v.x) && std::isfinite(v.y) && std::isfinite(v.z);
}

// Gives bit-identical positions one shared index (STL stores every corner
// of every triangle).
class Welder {
 public:
  explicit Welder(Mesh* mesh) : mesh_(mesh) {}
  uint32_t Index(const Vec3& v) {
    Key key;
    std::memcpy(key.bits, &v, sizeof key.bits);
    auto [it, inserted] =
        index_.try_emplace(key, static_cast<uint32_t>(mesh_->vertices.size()));
    if (inserted) mesh_->vertices.push_back(v);
    return it->second;
  }

 private:
  struct Key {
    uint64_t bits[3];
    bool operator==(const Key& o) const {
      return std::memcmp(bits, o.bits, sizeof bits) == 0;
    }
  };
  struct KeyHash {
    size_t operator()(const Key& k) const {
      return (k.bits[0] * 0x9E3779B97F4A7C15ull) ^
             (k.bits[1] * 0xC2B2AE3D27D4EB4Full) ^ (k.bits[2] + 0x165667B1);
    }
  };
  Mesh* mesh_;
  std::unordered_map<Key, uint32_t, KeyHash> index_;
};

absl::StatusOr<ReadMeshResult> ParseStl(std::string_view bytes,
                                        const ReadLimits& limits);
absl::StatusOr<ReadMeshResult> ParseObj(std::string_view bytes,
                                        const ReadLimits& limits);
absl::StatusOr<ReadMeshResult> ParsePly(std::string_view bytes,
                                        const ReadLimits& limits);

}  // namespace loupe::geometry::internal
