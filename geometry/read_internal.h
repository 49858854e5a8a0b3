#pragma once

// Internal to the mesh readers: number parsing, line splitting, corner
// welding and the per-format entry points.

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <string_view>
#include <vector>

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
  // `expected` vertices: a size hint (a closed mesh has about half as many
  // vertices as triangles).
  explicit Welder(Mesh* mesh, size_t expected = 0) : mesh_(mesh) {
    size_t capacity = 1024;
    while (capacity < 2 * expected) capacity *= 2;
    slots_.assign(capacity, 0);
    mesh_->vertices.reserve(expected);
  }
  uint32_t Index(const Vec3& v) {
    uint64_t bits[3];
    std::memcpy(bits, &v, sizeof bits);
    const uint64_t hash = Hash(bits);
    // Neighbouring triangles share corners: a small cache of recent ones
    // answers most lookups without touching the large table.
    Recent& recent = recent_[(hash >> 40) & (kRecent - 1)];
    if (recent.index != 0 && std::memcmp(recent.bits, bits, sizeof bits) == 0) {
      return recent.index - 1;
    }
    const uint32_t index = Insert(v, bits, hash);
    std::memcpy(recent.bits, bits, sizeof bits);
    recent.index = index + 1;
    return index;
  }

 private:
  static constexpr size_t kRecent = 256;
  struct Recent {
    uint64_t bits[3];
    uint32_t index = 0;  // Vertex index + 1; 0 is empty.
  };

  static uint64_t Hash(const uint64_t (&bits)[3]) {
    return (bits[0] * 0x9E3779B97F4A7C15ull) ^
           (bits[1] * 0xC2B2AE3D27D4EB4Full) ^
           ((bits[2] + 0x165667B1) * 0xFF51AFD7ED558CCDull);
  }

  // The vertex's index in the table, added if new.
  uint32_t Insert(const Vec3& v, const uint64_t (&bits)[3], uint64_t hash) {
    for (size_t i = (hash ^ hash >> 29) & (slots_.size() - 1);;
         i = (i + 1) & (slots_.size() - 1)) {
      if (slots_[i] == 0) {
        const auto index = static_cast<uint32_t>(mesh_->vertices.size());
        mesh_->vertices.push_back(v);
        slots_[i] = index + 1;
        if (2 * mesh_->vertices.size() > slots_.size()) Grow();
        return index;
      }
      if (std::memcmp(&mesh_->vertices[slots_[i] - 1], bits, sizeof bits) ==
          0) {
        return slots_[i] - 1;
      }
    }
  }

  // Doubles the table: every vertex is placed again, in the same order.
  void Grow() {
    std::vector<Vec3> vertices;
    vertices.swap(mesh_->vertices);
    slots_.assign(slots_.size() * 2, 0);
    mesh_->vertices.reserve(vertices.size() * 2);
    for (const Vec3& v : vertices) {
      uint64_t bits[3];
      std::memcpy(bits, &v, sizeof bits);
      (void)Insert(v, bits, Hash(bits));
    }
  }

  Mesh* mesh_;
  Recent recent_[kRecent] = {};
  std::vector<uint32_t> slots_;  // Vertex index + 1; 0 is empty.
};

absl::StatusOr<ReadMeshResult> ParseStl(std::string_view bytes,
                                        const ReadLimits& limits);
absl::StatusOr<ReadMeshResult> ParseObj(std::string_view bytes,
                                        const ReadLimits& limits);
absl::StatusOr<ReadMeshResult> ParsePly(std::string_view bytes,
                                        const ReadLimits& limits);

}  // namespace loupe::geometry::internal
