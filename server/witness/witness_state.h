#pragma once

// A witness's durable memory: for each log it follows, the newest
// checkpoint it cosigned (the log's signed note with the witness's
// cosignature), one file per log named by the lower-case hex SHA-256 of
// the origin. A file is replaced atomically and durably (written to a
// temporary file, synced, renamed over the old one, the directory synced),
// so a crash leaves the old checkpoint or the new one, never a mix.
//
// Not thread-safe: the witness serialises its check-and-save under its
// own mutex.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "crypto/checkpoint.h"

namespace loupe::witness {

struct WitnessRecord {
  crypto::Checkpoint checkpoint;
  std::string note;  // The cosigned note.
};

class WitnessState {
 public:
  // Creates `dir` (0700) if missing. FAILED_PRECONDITION naming it if it
  // cannot be created or written.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<WitnessState>> Open(
      const std::string& dir);

  // The newest checkpoint cosigned for `origin`, if any. DATA_LOSS naming
  // the file if it does not hold a checkpoint of that origin.
  [[nodiscard]] absl::StatusOr<std::optional<WitnessRecord>> Load(
      std::string_view origin);
  // Replaces it, durably, before returning. INTERNAL naming the file if a
  // step fails (then the old record stays).
  [[nodiscard]] absl::Status Save(std::string_view origin,
                                  const WitnessRecord& record);

  // The file name of `origin`'s record (also the monitoring path's hash).
  [[nodiscard]] static std::string OriginHash(std::string_view origin);

 private:
  explicit WitnessState(std::string dir) : dir_(std::move(dir)) {}

  std::string dir_;
  std::map<std::string, WitnessRecord, std::less<>> cache_;
};

}  // namespace loupe::witness
