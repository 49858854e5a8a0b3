#pragma once

// What Loupe checks in a STEP file before OpenCASCADE parses it: the Part
// 21 frame (starts with ISO-10303-21;, ends with END-ISO-10303-21;, strings
// and comments closed), the entity count, the nesting depth and the schema
// (AP203, AP214 or AP242). Cheap (one pass over the bytes, no allocation
// beyond the schema's name); errors as in cad_readers.h.

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "geometry/read_mesh.h"

namespace loupe::geometry::cad {

struct StepFacts {
  uint64_t entities = 0;  // Statements ending in ';' in the DATA sections.
  std::string schema;     // FILE_SCHEMA's first name, as written.
};

[[nodiscard]] absl::StatusOr<StepFacts> ScanStep(std::string_view bytes,
                                                 const ReadLimits& limits);

}  // namespace loupe::geometry::cad
