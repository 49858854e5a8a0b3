#pragma once

// STEP (ISO 10303-21; AP203, AP214, AP242) through OpenCASCADE and 3MF
// through lib3mf: the B-rep or mesh becomes a Mesh like the other readers'
// (geometry/read_mesh.h), so that everything downstream (checks, hash,
// measurements, comparison, previews) takes it as it is. A target of its
// own (loupe_geometry_cad), so that only the programs that read these
// formats link the libraries.
//
// Strict, like the other readers: the file's size, STEP's entity count and
// nesting, and 3MF's ZIP directory (entries, unpacked size) are checked
// before the library sees the bytes; errors are INVALID_ARGUMENT naming
// the format and the problem, RESOURCE_EXHAUSTED for a limit. Thread-safe
// (STEP reads are serialised, each in the program loupe-step-reader,
// step_reader_main.cc: OpenCASCADE's STEP reader keeps global state, and
// crashes on some malformed files; INTERNAL when the program is missing).

#include <string_view>

#include "absl/status/statusor.h"
#include "geometry/read_mesh.h"

namespace loupe::geometry::cad {

// STEP is tessellated with this chordal tolerance (the largest distance
// between a triangle and the exact surface), or a hundred-thousandth of
// the shape's diagonal when that is larger (pieces beyond 14 cm), and an
// angular one of 0.2 rad: well below the 0.01 mm measurements need.
inline constexpr double kStepChordalToleranceMm = 0.001;
inline constexpr double kStepAngularToleranceRad = 0.2;
// The STEP reader program limits its CPU time to this (the library
// crashes on some malformed files, and loops on others).
inline constexpr int kStepCpuSeconds = 120;
// Parentheses nested deeper than this in a STEP file are refused (the
// library parses them recursively).
inline constexpr int kStepMaxNesting = 64;
// 3MF: at most this many ZIP entries, and components nested this deep.
inline constexpr int k3mfMaxEntries = 10'000;
inline constexpr int k3mfMaxComponentDepth = 16;

// Installs both readers for ParseMesh (geometry/read_mesh.h). Call once at
// start; calling again is harmless.
void EnableCadReaders();

[[nodiscard]] absl::StatusOr<ReadMeshResult> ParseStep(
    std::string_view bytes, const ReadLimits& limits = {});
[[nodiscard]] absl::StatusOr<ReadMeshResult> Parse3mf(
    std::string_view bytes, const ReadLimits& limits = {});

}  // namespace loupe::geometry::cad
