// libFuzzer target: the STEP reader (Loupe's checks, then the library)
// must refuse or accept any bytes without crashing, hanging or allocating
// beyond the limits.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "geometry/cad/cad_readers.h"

// Leaks are not checked: the ones LeakSanitizer reports here are
// OpenCASCADE's (its STEP reader's static tables), not Loupe's; memory errors
// still are.
extern "C" const char* __asan_default_options() { return "detect_leaks=0"; }

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  loupe::geometry::ReadLimits limits;
  limits.max_vertices = limits.max_triangles = 1 << 20;
  limits.max_cad_bytes = 1 << 20;
  limits.max_step_entities = 20'000;
  limits.max_3mf_unpacked_bytes = 16 << 20;
  (void)loupe::geometry::cad::ParseStep(
      std::string_view(reinterpret_cast<const char*>(data), size), limits);
  return 0;
}
