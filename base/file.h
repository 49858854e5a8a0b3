#pragma once

// Reading a whole (small) file: configuration, keys, roots, bundles;
// writing one with its permissions from the start (secrets); and the size of
// a directory tree.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

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

// What WriteFileSynced does when something is already at the path.
enum class IfExists {
  kFail,     // ALREADY_EXISTS; nothing is written.
  kReplace,  // Written beside as "<path>.tmp", then renamed over the path.
};

namespace file_internal {

inline absl::Status Errno(const std::string& path, std::string_view what) {
  const int e = errno;
  return (e == EEXIST ? absl::AlreadyExistsError : absl::InternalError)(
      path + ": " + std::string(what) + ": " + std::strerror(e));
}

// Creates `path` (never following a symlink, never reusing a file) with
// `mode`, writes `contents`, fsyncs and closes it.
inline absl::Status CreateSynced(const std::string& path,
                                 std::string_view contents, mode_t mode) {
  const int fd = ::open(
      path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) return Errno(path, "cannot create");
  size_t done = 0;
  while (done < contents.size()) {
    const ssize_t n =
        ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      absl::Status s = Errno(path, "cannot write");
      ::close(fd);
      ::unlink(path.c_str());
      return s;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    absl::Status s = Errno(path, "cannot sync");
    ::close(fd);
    ::unlink(path.c_str());
    return s;
  }
  if (::close(fd) != 0) return Errno(path, "cannot close");
  return absl::OkStatus();
}

// Makes a new or renamed directory entry durable.
inline void SyncParent(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

}  // namespace file_internal

// Writes `contents` to `path`, the file created with permission bits `mode`
// (less the umask), so a secret (0600) is never readable by others, not
// even between a write and a chmod; synced to disk (file and directory)
// before returning. A symlink at the path is never followed. INTERNAL
// "<path>: ..." naming the failed step; ALREADY_EXISTS under kFail.
[[nodiscard]] inline absl::Status WriteFileSynced(const std::string& path,
                                                  std::string_view contents,
                                                  mode_t mode,
                                                  IfExists if_exists) {
  if (if_exists == IfExists::kFail) {
    if (auto s = file_internal::CreateSynced(path, contents, mode); !s.ok()) {
      return s;
    }
  } else {
    const std::string tmp = path + ".tmp";
    ::unlink(tmp.c_str());  // A leftover of a write that was cut short.
    if (auto s = file_internal::CreateSynced(tmp, contents, mode); !s.ok()) {
      return s;
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
      absl::Status s = file_internal::Errno(path, "cannot replace");
      ::unlink(tmp.c_str());
      return s;
    }
  }
  file_internal::SyncParent(path);
  return absl::OkStatus();
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
