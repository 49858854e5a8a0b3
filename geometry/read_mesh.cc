#include "geometry/read_mesh.h"

#include <atomic>

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

std::atomic<const CadReaders*> installed_readers{nullptr};

// STEP files start with "ISO-10303-21;", after an optional byte-order mark
// and white space.
bool LooksLikeStep(std::string_view bytes) {
  if (bytes.substr(0, 3) == "\xEF\xBB\xBF") bytes.remove_prefix(3);
  size_t i = 0;
  while (i < bytes.size() && i < 4096 && internal::IsSpace(bytes[i])) ++i;
  return bytes.substr(i, 13) == "ISO-10303-21;";
}

// The installed reader for a CAD format, or an error naming it.
absl::StatusOr<ReadMeshResult> ReadCad(ReaderFunction CadReaders::*which,
                                       std::string_view name,
                                       std::string_view bytes,
                                       const ReadLimits& limits) {
  const CadReaders* readers = installed_readers.load(std::memory_order_acquire);
  if (readers == nullptr || readers->*which == nullptr) {
    return absl::InvalidArgumentError(
        StrCat(name, ": this program is built without the ", name,
               " reader (geometry/cad)"));
  }
  return (readers->*which)(bytes, limits);
}

}  // namespace

void InstallCadReaders(const CadReaders& readers) {
  // Leaked on purpose: readers may be running on other threads.
  installed_readers.store(new CadReaders(readers), std::memory_order_release);
}

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
    case MeshFormat::kStep:
      return "STEP (B-rep, tessellated)";
    case MeshFormat::k3mf:
      return "3MF";
  }
  return "?";
}

absl::StatusOr<ReadMeshResult> ParseMesh(std::string_view bytes,
                                         std::string_view file_name,
                                         const ReadLimits& limits) {
  const std::string ext = Extension(file_name);
  if (LooksLikeStep(bytes) || ext == "step" || ext == "stp") {
    return ReadCad(&CadReaders::step, "STEP", bytes, limits);
  }
  if (bytes.substr(0, 4) == std::string_view("PK\x03\x04", 4) || ext == "3mf") {
    return ReadCad(&CadReaders::three_mf, "3MF", bytes, limits);
  }
  if (bytes.substr(0, 3) == "ply") return internal::ParsePly(bytes, limits);
  if (ext == "obj" || (ext != "stl" && LooksLikeObj(bytes))) {
    return internal::ParseObj(bytes, limits);
  }
  if (ext == "stl" || bytes.size() >= 84 || bytes.substr(0, 5) == "solid") {
    return internal::ParseStl(bytes, limits);
  }
  return absl::InvalidArgumentError(
      "mesh: not STL, OBJ, PLY, STEP or 3MF (too short, or an unknown "
      "format)");
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
