// STL, binary and ASCII.
#include <cstring>

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
  mesh.triangles.reserve(count);
  Welder welder(&mesh, count / 2 + 16);
  for (uint32_t t = 0; t < count; ++t) {
    const char* record = bytes.data() + kHeader + size_t{t} * kRecord;
    Triangle tri;
    for (int k = 0; k < 3; ++k) {
      float xyz[3];
      std::memcpy(xyz, record + 12 + 12 * k, 12);
      const Vec3 v{xyz[0], xyz[1], xyz[2]};
      if (!Finite(v)) {
        return absl::InvalidArgumentError(
            StrCat("STL triangle ", t, ": a coordinate is not finite"));
      }
      tri[k] = welder.Index(v);
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
