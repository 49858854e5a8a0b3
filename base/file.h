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
  // One read of the whole file when its size is known (a regular file);
  // else (a pipe) through a stream.
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (!ec && std::filesystem::is_regular_file(path, ec)) {
    std::string bytes(size, '\0');
    in.read(bytes.data(), static_cast<std::streamsize>(size));
    bytes.resize(static_cast<size_t>(in.gcount()));
    if (in.peek() == std::ifstream::traits_type::eof()) return bytes;
    std::stringstream rest;  // The file grew while being read.
    rest << in.rdbuf();
    return bytes + rest.str();
  }
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
