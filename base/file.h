#pragma once

// Reading a whole (small) file: configuration, keys, roots, bundles; and
// the size of a directory tree.

#include <cstdint>
#include <filesystem>
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

// Bytes in the regular files under `dir` (0 if it cannot be read).
[[nodiscard]] inline uint64_t DirectoryBytes(const std::filesystem::path& dir) {
  std::error_code ec;
  uint64_t total = 0;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_regular_file(ec)) total += it->file_size(ec);
  }
  return total;
}

}  // namespace loupe
