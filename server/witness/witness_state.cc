#include "server/witness/witness_state.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "base/file.h"
#include "base/str_cat.h"
#include "crypto/cosignature.h"
#include "crypto/sha256.h"

namespace loupe::witness {
namespace {

namespace fs = std::filesystem;

absl::Status Errno(std::string_view what, const std::string& path) {
  return absl::InternalError(
      StrCat("witness state: ", what, " ", path, ": ", std::strerror(errno)));
}

absl::Status WriteAll(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Errno("writing", path);
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

absl::Status SyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("opening", dir);
  const int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? absl::OkStatus() : Errno("syncing", dir);
}

}  // namespace

std::string WitnessState::OriginHash(std::string_view origin) {
  return crypto::Sha256::HexOf(origin);
}

absl::StatusOr<std::unique_ptr<WitnessState>> WitnessState::Open(
    const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || ::access(dir.c_str(), W_OK) != 0) {
    return absl::FailedPreconditionError(
        StrCat("state_dir: ", dir, ": cannot create or write it"));
  }
  ::chmod(dir.c_str(), 0700);
  return std::unique_ptr<WitnessState>(new WitnessState(dir));
}

absl::StatusOr<std::optional<WitnessRecord>> WitnessState::Load(
    std::string_view origin) {
  if (auto it = cache_.find(origin); it != cache_.end()) return it->second;
  const std::string path = StrCat(dir_, "/", OriginHash(origin));
  if (!fs::exists(path)) return std::nullopt;
  auto text = ReadFileToString(path);
  if (!text.ok()) return Errno("reading", path);
  auto note = crypto::ParseSignedNote(*text);
  auto checkpoint = note.ok()
                        ? crypto::ParseCheckpointBody(note->body)
                        : absl::StatusOr<crypto::Checkpoint>(note.status());
  if (!checkpoint.ok() || checkpoint->origin != origin) {
    return absl::DataLossError(StrCat(
        "witness state: ", path, " does not hold a checkpoint of ", origin,
        " (",
        checkpoint.ok() ? "another origin" : checkpoint.status().message(),
        "); restore it from a backup: without it the witness would cosign "
        "any history"));
  }
  WitnessRecord record{*checkpoint, *std::move(text)};
  cache_.emplace(std::string(origin), record);
  return record;
}

absl::Status WitnessState::Save(std::string_view origin,
                                const WitnessRecord& record) {
  const std::string path = StrCat(dir_, "/", OriginHash(origin));
  const std::string temp = path + ".tmp";
  const int fd =
      ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("creating", temp);
  absl::Status s = WriteAll(fd, record.note, temp);
  if (s.ok() && ::fsync(fd) != 0) s = Errno("syncing", temp);
  ::close(fd);
  if (s.ok() && ::rename(temp.c_str(), path.c_str()) != 0) {
    s = Errno("renaming", temp);
  }
  if (s.ok()) s = SyncDir(dir_);
  if (!s.ok()) {
    ::unlink(temp.c_str());
    cache_.erase(std::string(origin));  // Read the file again next time.
    return s;
  }
  cache_[std::string(origin)] = record;
  return absl::OkStatus();
}

}  // namespace loupe::witness
