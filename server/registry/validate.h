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
// A status reason: 1-500 bytes of UTF-8 text without terminal controls
// (base/utf8.h: C0, DEL, C1, bidirectional overrides), since it is logged
// publicly and printed by `loupe verify` and `loupe status`. The message
// names `field` and the first offending character.
[[nodiscard]] absl::Status ValidateStatusReason(std::string_view field,
                                                std::string_view reason);
[[nodiscard]] absl::Status ValidateUploadHeader(
    const v1::UploadAssetHeader& header, uint64_t max_asset_bytes);

}  // namespace loupe::server
