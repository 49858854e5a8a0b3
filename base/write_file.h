#pragma once

// Replacing a file's contents so that a reader (or a crash) sees either the
// old bytes or the new, never a mix: write a temporary file beside it,
// fsync, rename over the target, fsync the directory.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace loupe {

// Writes `contents` to `path` atomically, creating the file with `mode`
// (the temporary file has it from the start). PERMISSION_DENIED naming the
// path if it cannot be written; the old file is then left as it was.
[[nodiscard]] inline absl::Status WriteFileAtomically(const std::string& path,
                                                      std::string_view contents,
                                                      mode_t mode = 0644) {
  const std::string temp = path + ".tmp." + std::to_string(::getpid());
  const int fd =
      ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  auto fail = [&](std::string_view what) {
    ::unlink(temp.c_str());
    return absl::PermissionDeniedError(std::string(path) + ": cannot " +
                                       std::string(what));
  };
  if (fd < 0) return fail("create");
  size_t done = 0;
  while (done < contents.size()) {
    const ssize_t n =
        ::write(fd, contents.data() + done, contents.size() - done);
    if (n <= 0) {
      ::close(fd);
      return fail("write");
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) return fail("sync");
  if (::rename(temp.c_str(), path.c_str()) != 0) return fail("replace");
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = ".";
  if (const int d = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      d >= 0) {
    ::fsync(d);
    ::close(d);
  }
  return absl::OkStatus();
}

}  // namespace loupe
