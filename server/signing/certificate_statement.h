#pragma once

#include <string_view>

#include "absl/status/statusor.h"
#include "crypto/statement.h"
#include "loupe/v1/twin.pb.h"

namespace loupe::server {

// The statement a certificate of `version` of `piece` signs: one subject per
// asset (file name, sha256) and the TwinCertificate predicate:
//   {"piece_id", "studio_id", "studio_reference", "kind", "version",
//    "parent_version", "parent_certificate" (id, or null), "twin": the
//    TwinVersion in protobuf's JSON mapping with proto field names}
// (issued_at and keyid are added when it is signed). INVALID_ARGUMENT if a
// fact has no canonical JSON form.
[[nodiscard]] absl::StatusOr<crypto::Statement> CertificateStatement(
    const v1::Piece& piece, const v1::TwinVersion& version,
    std::string_view parent_certificate_id);

}  // namespace loupe::server
