#pragma once

// A whole file's bytes without copying them: mapped read-only when it is a
// regular file, read into memory otherwise (a pipe). For large inputs (mesh
// files of tens of megabytes) that are parsed once.
//
// Move-only; the bytes live as long as the object. Not thread-safe to
// move while another thread reads the bytes; reading from several threads
// is.

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"

namespace loupe {

class MappedFile {
 public:
  // NOT_FOUND "<path>: cannot read" if it cannot be opened.
  [[nodiscard]] static absl::StatusOr<MappedFile> Open(
      const std::string& path) {
    MappedFile file;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return absl::NotFoundError(path + ": cannot read");
    struct stat st;
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
      void* at = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ,
                        MAP_PRIVATE | MAP_POPULATE, fd, 0);
      if (at != MAP_FAILED) {
        ::close(fd);
        file.mapped_ = at;
        file.bytes_ = {static_cast<const char*>(at),
                       static_cast<size_t>(st.st_size)};
        return file;
      }
    }
    // Not mappable (a pipe, an empty file): read from the same descriptor.
    char buffer[1 << 16];
    for (;;) {
      const ssize_t n = ::read(fd, buffer, sizeof buffer);
      if (n > 0) {
        file.owned_.append(buffer, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        const bool failed = n < 0;
        ::close(fd);
        if (failed) return absl::DataLossError(path + ": read failed");
        break;
      }
    }
    file.bytes_ = file.owned_;
    return file;
  }

  MappedFile(MappedFile&& other) noexcept { *this = std::move(other); }
  MappedFile& operator=(MappedFile&& other) noexcept {
    if (this != &other) {
      Unmap();
      mapped_ = std::exchange(other.mapped_, nullptr);
      owned_ = std::move(other.owned_);
      bytes_ = mapped_ != nullptr ? std::exchange(other.bytes_, {})
                                  : std::string_view(owned_);
      other.bytes_ = {};
    }
    return *this;
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile() { Unmap(); }

  [[nodiscard]] std::string_view bytes() const { return bytes_; }

 private:
  MappedFile() = default;
  void Unmap() {
    if (mapped_ != nullptr) ::munmap(mapped_, bytes_.size());
    mapped_ = nullptr;
  }

  void* mapped_ = nullptr;
  std::string owned_;
  std::string_view bytes_;
};

}  // namespace loupe
