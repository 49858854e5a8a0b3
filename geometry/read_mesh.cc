#include "geometry/read_mesh.h"

#include "base/file.h"
#include "base/mapped_file.h"
#include "base/str_cat.h"
#include "geometry/read_internal.h"

namespace loupe::geometry {
namespace {

std::string Extension(std::string_view name) {
  const size_t dot = name.rfind('.');
  std::string ext(dot == std::string_view::npos ? "" : name.substr(dot + 1));
  for (auto& c : ext) c = static_cast<char>(std::tolower(c));
  return ext;
}

bool LooksLikeObj(std::string_view bytes) {
  internal::LineReader lines(bytes.substr(0, 1 << 16));
  std::string_view line;
  while (lines.Next(&line)) {
    size_t i = 0;
    while (i < line.size() && internal::IsSpace(line[i])) ++i;
    line.remove_prefix(i);
    if (line.empty() || line[0] == '#') continue;
    return line.substr(0, 2) == "v " || line.substr(0, 2) == "o " ||
           line.substr(0, 2) == "g " || line.substr(0, 7) == "mtllib ";
  }
  return false;
}

}  // namespace

const char* MeshFormatName(MeshFormat format) {
  switch (format) {
    case MeshFormat::kStlBinary:
      return "STL (binary)";
    case MeshFormat::kStlAscii:
      return "STL (ASCII)";
    case MeshFormat::kObj:
      return "OBJ";
    case MeshFormat::kPlyAscii:
      return "PLY (ASCII)";
    case MeshFormat::kPlyBinaryLittleEndian:
      return "PLY (binary, little-endian)";
    case MeshFormat::kPlyBinaryBigEndian:
      return "PLY (binary, big-endian)";
  }
  return "?";
}

absl::StatusOr<ReadMeshResult> ParseMesh(std::string_view bytes,
                                         std::string_view file_name,
                                         const ReadLimits& limits) {
  if (bytes.substr(0, 3) == "ply") return internal::ParsePly(bytes, limits);
  const std::string ext = Extension(file_name);
  if (ext == "obj" || (ext != "stl" && LooksLikeObj(bytes))) {
    return internal::ParseObj(bytes, limits);
  }
  if (ext == "stl" || bytes.size() >= 84 || bytes.substr(0, 5) == "solid") {
    return internal::ParseStl(bytes, limits);
  }
  return absl::InvalidArgumentError(
      "mesh: not STL, OBJ or PLY (too short, or an unknown format)");
}

absl::StatusOr<ReadMeshResult> ReadMeshFile(const std::string& path,
                                            const ReadLimits& limits) {
  auto file = MappedFile::Open(path);
  if (!file.ok()) return file.status();
  auto mesh = ParseMesh(file->bytes(), path, limits);
  if (!mesh.ok()) {
    return absl::Status(mesh.status().code(),
                        StrCat(path, ": ", mesh.status().message()));
  }
  return mesh;
}

}  // namespace loupe::geometry
