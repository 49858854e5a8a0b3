// libFuzzer target: the PLY reader must refuse or accept any bytes
// without crashing, hanging or allocating beyond the limits.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "geometry/read_internal.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const loupe::geometry::ReadLimits limits{1 << 20, 1 << 20};
  (void)loupe::geometry::internal::ParsePly(
      std::string_view(reinterpret_cast<const char*>(data), size), limits);
  return 0;
}
