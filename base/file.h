#pragma once

// Reading a whole (small) file: configuration, keys, roots, bundles.

#include <fstream>
#include <sstream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace loupe {

// The file's bytes; NOT_FOUND "<path>: cannot read" if it cannot be opened.
[[nodiscard]] inline absl::StatusOr<std::string> ReadFileToString(
    const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(path + ": cannot read");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace loupe
