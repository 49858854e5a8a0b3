#pragma once

// Input validation for RegistryService requests. Every error is
// INVALID_ARGUMENT and its message starts with the offending field's path,
// e.g. "version.assets[2].file_name: must not contain '/'".

#include <string_view>

#include "absl/status/status.h"
#include "loupe/v1/registry.pb.h"

namespace loupe::server {

// "pc_" + 26 base32 characters.
[[nodiscard]] absl::Status ValidatePieceId(std::string_view field,
                                           std::string_view id);
// 1-64 of [a-z0-9._-], starting with a letter or digit.
[[nodiscard]] absl::Status ValidateStudioId(std::string_view field,
                                            std::string_view id);
[[nodiscard]] absl::Status ValidateCreatePiece(
    const v1::CreatePieceRequest& request);
// Checks the caller-supplied parts of a version (not server-owned fields).
// Errors name fields under `field` ("version" or "first_version").
[[nodiscard]] absl::Status ValidateVersion(const v1::TwinVersion& version,
                                           std::string_view field = "version");
[[nodiscard]] absl::Status ValidateUploadHeader(
    const v1::UploadAssetHeader& header, uint64_t max_asset_bytes);

}  // namespace loupe::server
