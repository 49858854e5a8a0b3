#pragma once

// The STEP reader program's answer (step_reader_main.cc writes it on its
// standard output, read_step.cc parses it): a status code (int32, 0 for
// OK) and either the message (uint64 length, bytes), or the vertex and
// triangle counts (two uint64) and arrays, in this machine's byte order
// (the program is always the one built with its caller).

#include <string_view>

#include "absl/status/statusor.h"
#include "geometry/mesh.h"

namespace loupe::geometry::cad {

// Writes the answer to `fd`; stops quietly when the reader has gone.
void WriteStepAnswer(int fd, const absl::StatusOr<Mesh>& mesh);

// The mesh or the status the answer carries; INTERNAL when it is cut or
// malformed (the program died while writing).
[[nodiscard]] absl::StatusOr<Mesh> ParseStepAnswer(std::string_view answer);

}  // namespace loupe::geometry::cad
