#pragma once

// A whole file's bytes without copying them: mapped read-only when it is a
// regular file, read into memory otherwise (a pipe). For large inputs (mesh
// files of tens of megabytes) that are parsed once.
//
// Move-only; the bytes live as long as the object. Not thread-safe to
// move while another thread reads the bytes; reading from several threads
// is.

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"
#include "base/file.h"

namespace loupe {

class MappedFile {
 public:
  // NOT_FOUND "<path>: cannot read" if it cannot be opened.
  [[nodiscard]] static absl::StatusOr<MappedFile> Open(
      const std::string& path) {
    MappedFile file;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd >= 0 && ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
        st.st_size > 0) {
      void* at = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ,
                        MAP_PRIVATE | MAP_POPULATE, fd, 0);
      ::close(fd);
      if (at != MAP_FAILED) {
        file.mapped_ = at;
        file.bytes_ = {static_cast<const char*>(at),
                       static_cast<size_t>(st.st_size)};
        return file;
      }
    } else if (fd >= 0) {
      ::close(fd);
    }
    auto bytes = ReadFileToString(path);
    if (!bytes.ok()) return bytes.status();
    file.owned_ = std::move(*bytes);
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
