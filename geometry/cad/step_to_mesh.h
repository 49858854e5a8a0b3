#pragma once

// OpenCASCADE's part of reading STEP: parse, transfer, tessellate (with
// kStepChordalToleranceMm) and weld into a Mesh. Only the reader program
// (step_reader_main.cc) calls it: OpenCASCADE keeps global state and
// crashes on some malformed files, so it never runs in a server or client
// process (read_step.cc starts the program for each file).
//
// Errors: INVALID_ARGUMENT naming the problem, RESOURCE_EXHAUSTED for the
// vertex and triangle limits or when memory runs out (the program's
// address-space limit). Not thread-safe.

#include <string_view>

#include "absl/status/statusor.h"
#include "geometry/read_mesh.h"

namespace loupe::geometry::cad {

[[nodiscard]] absl::StatusOr<Mesh> StepToMesh(std::string_view bytes,
                                              const ReadLimits& limits);

}  // namespace loupe::geometry::cad
