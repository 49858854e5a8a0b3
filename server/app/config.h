#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "loupe/v1/config.pb.h"

namespace loupe::server {

inline constexpr char kDefaultListenAddress[] = "127.0.0.1:7400";
inline constexpr uint64_t kDefaultMaxAssetBytes = uint64_t{2} << 30;
inline constexpr uint32_t kDefaultMaxMessageBytes = 4 << 20;
inline constexpr uint32_t kDefaultWorkerThreads = 4;

// Reads a ServerConfig in protobuf text format. NOT_FOUND if the file is
// missing; INVALID_ARGUMENT with the parser's line and column otherwise.
[[nodiscard]] absl::StatusOr<v1::ServerConfig> LoadConfigFile(
    const std::string& path);

// Parses text-format configuration (the file's contents).
[[nodiscard]] absl::StatusOr<v1::ServerConfig> ParseConfig(
    const std::string& text);

// Fills unset options with their defaults; INVALID_ARGUMENT naming the
// option if the result cannot run a server (no data_dir, bad limits).
[[nodiscard]] absl::Status FinishConfig(v1::ServerConfig* config);

}  // namespace loupe::server
