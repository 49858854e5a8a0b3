// STL, binary and ASCII.
#include <cmath>
#include <cstring>
#include <vector>

#include "base/prefault.h"
#include "base/str_cat.h"
#include "geometry/read_internal.h"

namespace loupe::geometry::internal {
namespace {

constexpr size_t kHeader = 84;
constexpr size_t kRecord = 50;

absl::Status TooMany(uint64_t n, const ReadLimits& limits) {
  return absl::ResourceExhaustedError(
      StrCat("STL: ", n, " triangles; the limit is ", limits.max_triangles));
}

bool LooksBinary(std::string_view bytes) {
  if (bytes.size() < kHeader) return false;
  uint32_t count;
  std::memcpy(&count, bytes.data() + 80, 4);
  return bytes.size() == kHeader + uint64_t{count} * kRecord;
}

// Welds a binary STL's float corners: the table's slots hold the corner
// itself, so a lookup reads one slot, not a slot and a vertex (Welder
// does that for corners that are doubles). Vertices are numbered in the
// order first met.
class FloatWelder {
 public:
  FloatWelder(Mesh* mesh, size_t expected) : mesh_(mesh) {
    size_t capacity = 1024;
    while (capacity < 2 * expected) capacity *= 2;
    slots_.assign(capacity, Slot{});
    ReservePrefaulted(&mesh_->vertices, expected);
  }
  uint32_t Index(const float (&xyz)[3]) {
    uint32_t bits[3];
    std::memcpy(bits, xyz, sizeof bits);
    for (size_t i = Home(bits);; i = (i + 1) & (slots_.size() - 1)) {
      Slot& s = slots_[i];
      if (s.index == 0) {
        std::memcpy(s.bits, bits, sizeof bits);
        mesh_->vertices.push_back({xyz[0], xyz[1], xyz[2]});
        s.index = static_cast<uint32_t>(mesh_->vertices.size());
        if (2 * mesh_->vertices.size() > slots_.size()) Grow();
        return static_cast<uint32_t>(mesh_->vertices.size() - 1);
      }
      if (std::memcmp(s.bits, bits, sizeof bits) == 0) return s.index - 1;
    }
  }

 private:
  struct Slot {
    uint32_t bits[3] = {0, 0, 0};
    uint32_t index = 0;  // Vertex index + 1; 0 is empty.
  };
  // The slot where the search for a corner starts.
  size_t Home(const uint32_t (&bits)[3]) const {
    const uint64_t hash = (bits[0] * 0x9E3779B97F4A7C15ull) ^
                          (bits[1] * 0xC2B2AE3D27D4EB4Full) ^
                          ((bits[2] + 0x165667B1ull) * 0xFF51AFD7ED558CCDull);
    return (hash ^ hash >> 29) & (slots_.size() - 1);
  }
  // Doubles the table, keeping every vertex's number.
  void Grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    for (const Slot& s : old) {
      if (s.index == 0) continue;
      size_t i = Home(s.bits);
      while (slots_[i].index != 0) i = (i + 1) & (slots_.size() - 1);
      slots_[i] = s;
    }
  }

  Mesh* mesh_;
  std::vector<Slot> slots_;
};

absl::StatusOr<ReadMeshResult> ParseBinary(std::string_view bytes,
                                           const ReadLimits& limits) {
  if (bytes.size() < kHeader) {
    return absl::InvalidArgumentError(StrCat(
        "STL: ", bytes.size(), " bytes, shorter than the 84-byte header"));
  }
  uint32_t count;
  std::memcpy(&count, bytes.data() + 80, 4);
  const uint64_t need = kHeader + uint64_t{count} * kRecord;
  if (bytes.size() < need) {
    return absl::InvalidArgumentError(StrCat(
        "STL: declares ", count, " triangles (", need,
        " bytes) but the file has ", bytes.size(), " bytes (truncated)"));
  }
  if (bytes.size() > need) {
    return absl::InvalidArgumentError(StrCat("STL: ", bytes.size() - need,
                                             " bytes after the declared ",
                                             count, " triangles"));
  }
  if (count > limits.max_triangles) return TooMany(count, limits);
  ReadMeshResult result;
  result.format = MeshFormat::kStlBinary;
  Mesh& mesh = result.mesh;
  ReservePrefaulted(&mesh.triangles, count);
  FloatWelder welder(&mesh, count / 2 + 16);
  for (uint32_t t = 0; t < count; ++t) {
    const char* record = bytes.data() + kHeader + size_t{t} * kRecord;
    Triangle tri;
    for (int k = 0; k < 3; ++k) {
      float xyz[3];
      std::memcpy(xyz, record + 12 + 12 * k, 12);
      if (!std::isfinite(xyz[0]) || !std::isfinite(xyz[1]) ||
          !std::isfinite(xyz[2])) {
        return absl::InvalidArgumentError(
            StrCat("STL triangle ", t, ": a coordinate is not finite"));
      }
      tri[k] = welder.Index(xyz);
    }
    mesh.triangles.push_back(tri);
  }
  return result;
}

absl::StatusOr<ReadMeshResult> ParseAscii(std::string_view bytes,
                                          const ReadLimits& limits) {
  ReadMeshResult result;
  result.format = MeshFormat::kStlAscii;
  Mesh& mesh = result.mesh;
  Welder welder(&mesh);
  LineReader lines(bytes);
  std::string_view line;
  std::string_view tokens[5];
  Triangle tri{};
  int corner = -1;  // -1: outside a facet's loop.
  bool ended = false;
  auto error = [&](std::string_view what) {
    return absl::InvalidArgumentError(
        StrCat("STL line ", lines.number(), ": ", what));
  };
  while (lines.Next(&line)) {
    const size_t n = SplitTokens(line, tokens);
    if (n == 0) continue;
    const std::string_view word = tokens[0];
    if (ended) return error("content after endsolid");
    if (word == "vertex") {
      if (corner < 0 || corner > 2) return error("vertex outside a facet loop");
      Vec3 v;
      if (n != 4 || !ParseDouble(tokens[1], &v.x) ||
          !ParseDouble(tokens[2], &v.y) || !ParseDouble(tokens[3], &v.z)) {
        return error("vertex needs three numbers");
      }
      if (!Finite(v)) return error("a coordinate is not finite");
      tri[corner++] = welder.Index(v);
    } else if (word == "outer") {
      corner = 0;
    } else if (word == "endloop") {
      if (corner != 3) return error("a facet needs exactly three vertices");
      if (mesh.triangles.size() >= limits.max_triangles) {
        return TooMany(mesh.triangles.size() + 1, limits);
      }
      mesh.triangles.push_back(tri);
      corner = -1;
    } else if (word == "endsolid") {
      ended = true;
    } else if (word != "solid" && word != "facet" && word != "endfacet") {
      return error(StrCat("unexpected \"", word.substr(0, 20), "\""));
    }
  }
  if (corner >= 0) return error("the file ends inside a facet (truncated)");
  if (!ended) {
    return absl::InvalidArgumentError("STL: no endsolid (truncated)");
  }
  return result;
}

}  // namespace

absl::StatusOr<ReadMeshResult> ParseStl(std::string_view bytes,
                                        const ReadLimits& limits) {
  const bool ascii = bytes.substr(0, 5) == "solid" && !LooksBinary(bytes);
  return ascii ? ParseAscii(bytes, limits) : ParseBinary(bytes, limits);
}

}  // namespace loupe::geometry::internal
