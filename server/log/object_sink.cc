#include "server/log/object_sink.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "base/file.h"
#include "base/str_cat.h"

namespace loupe::server {
namespace {

namespace fs = std::filesystem;

class DirectorySink : public ObjectSink {
 public:
  explicit DirectorySink(fs::path dir) : dir_(std::move(dir)) {}

  absl::Status Put(std::string_view key, std::string_view bytes,
                   const ObjectCaching&) override {
    const fs::path path = dir_ / key;
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    if (ec) {
      return absl::UnavailableError(
          StrCat(path.parent_path().string(), ": ", ec.message()));
    }
    const fs::path tmp = path.string() + ".tmp" + std::to_string(getpid());
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      out.flush();
      if (!out) {
        return absl::UnavailableError(
            StrCat(tmp.string(), ": cannot write: ", std::strerror(errno)));
      }
    }
    fs::rename(tmp, path, ec);
    if (ec) {
      return absl::UnavailableError(
          StrCat(path.string(), ": cannot rename into place: ", ec.message()));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> Get(std::string_view key) override {
    const fs::path path = dir_ / key;
    if (!fs::exists(path)) {
      return absl::NotFoundError(StrCat(path.string(), ": no such object"));
    }
    return ReadFileToString(path.string());
  }

  std::string Describe() const override {
    return StrCat("directory ", dir_.string());
  }

 private:
  const fs::path dir_;
};

}  // namespace

std::string ObjectCaching::CacheControl() const {
  if (immutable) return "public, max-age=31536000, immutable";
  if (max_age_seconds <= 0) return "no-cache";
  return StrCat("public, max-age=", max_age_seconds);
}

absl::StatusOr<std::unique_ptr<ObjectSink>> NewDirectorySink(
    const std::string& directory) {
  if (directory.empty()) {
    return absl::InvalidArgumentError("log.static_tiles.directory: empty");
  }
  std::error_code ec;
  fs::create_directories(directory, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        StrCat("log.static_tiles.directory: cannot create ", directory, ": ",
               ec.message()));
  }
  return std::make_unique<DirectorySink>(directory);
}

}  // namespace loupe::server
