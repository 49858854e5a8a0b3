#include "geometry/cad/cad_readers.h"

#include <mutex>

namespace loupe::geometry::cad {

void EnableCadReaders() {
  static std::once_flag once;
  std::call_once(once, [] { InstallCadReaders({&ParseStep, &Parse3mf}); });
}

}  // namespace loupe::geometry::cad
