#pragma once

// Strict readers for the mesh files studios upload: STL (binary and
// ASCII), OBJ and PLY (ASCII, binary little- and big-endian). Hostile input
// gets a clear error, never a crash or an allocation larger than the file
// justifies: declared counts are checked against the bytes present and the
// limits before anything is reserved; coordinates must be finite; indices
// must be in range. Nothing is repaired silently: STL's unshared corners
// are welded only where they are bit-identical.
//
// Errors: INVALID_ARGUMENT naming the format and where ("STL: ...",
// "OBJ line 12: ...", "PLY vertex 3: ..."); RESOURCE_EXHAUSTED when a limit
// is exceeded; NOT_FOUND for an unreadable path. Thread-safe (no state).

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "geometry/mesh.h"

namespace loupe::geometry {

enum class MeshFormat {
  kStlBinary,
  kStlAscii,
  kObj,
  kPlyAscii,
  kPlyBinaryLittleEndian,
  kPlyBinaryBigEndian,
  kStep,  // ISO 10303-21, a B-rep tessellated (geometry/cad).
  k3mf,   // 3D Manufacturing Format (geometry/cad).
};

[[nodiscard]] const char* MeshFormatName(MeshFormat format);

struct ReadLimits {
  uint64_t max_vertices = 50'000'000;
  uint64_t max_triangles = 50'000'000;
  // STEP and 3MF (geometry/cad): the file's size, STEP's entity instances
  // (each costs OpenCASCADE about a kilobyte) and 3MF's unpacked bytes are
  // bounded before the file is handed to the library.
  uint64_t max_cad_bytes = 256ull << 20;
  uint64_t max_step_entities = 1'000'000;
  // How much memory OpenCASCADE may take for one STEP file, beyond what
  // the reader program has once it holds the file (an address-space limit
  // on that program, geometry/cad/step_reader_main.cc).
  uint64_t max_step_memory_bytes = 4ull << 30;
  // How long (wall clock) a STEP file's reader program may take before it
  // is stopped (its CPU time is limited to cad::kStepCpuSeconds).
  uint64_t max_step_seconds = 300;
  uint64_t max_3mf_unpacked_bytes = 1ull << 30;
};

struct ReadMeshResult {
  Mesh mesh;
  MeshFormat format = MeshFormat::kStlBinary;
};

// Readers of formats whose libraries live in a target of their own
// (geometry/cad: STEP through OpenCASCADE, 3MF through lib3mf), so that a
// program without them does not link them. A program that links them
// installs them once (cad::EnableCadReaders()); without that, ParseMesh
// refuses those formats naming them. Installing is thread-safe.
using ReaderFunction = absl::StatusOr<ReadMeshResult> (*)(
    std::string_view bytes, const ReadLimits& limits);
struct CadReaders {
  ReaderFunction step = nullptr;
  ReaderFunction three_mf = nullptr;
};
void InstallCadReaders(const CadReaders& readers);

// Parses `bytes`. The format comes from the content ("ply" magic; "solid"
// with a size that is not binary STL's; OBJ's "v "/"f " lines; STEP's
// "ISO-10303-21;"; 3MF's ZIP signature), with `file_name`'s extension
// breaking ties (.step/.stp and .3mf name those formats).
[[nodiscard]] absl::StatusOr<ReadMeshResult> ParseMesh(
    std::string_view bytes, std::string_view file_name = "",
    const ReadLimits& limits = {});

[[nodiscard]] absl::StatusOr<ReadMeshResult> ReadMeshFile(
    const std::string& path, const ReadLimits& limits = {});

}  // namespace loupe::geometry
