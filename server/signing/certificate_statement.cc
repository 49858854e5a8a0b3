#include "server/signing/certificate_statement.h"

#include <google/protobuf/util/json_util.h>

#include "absl/status/status.h"
#include "base/str_cat.h"
#include "crypto/canonical_json.h"
#include "crypto/certificate.h"

namespace loupe::server {

absl::StatusOr<crypto::Statement> CertificateStatement(
    const v1::Piece& piece, const v1::TwinVersion& version,
    std::string_view parent_certificate_id) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string twin_json;
  if (!google::protobuf::util::MessageToJsonString(version, &twin_json, options)
           .ok()) {
    return absl::InternalError("version: cannot be written as JSON");
  }
  crypto::Statement statement;
  statement.predicate_type = crypto::kCertificatePredicateType;
  for (const auto& asset : version.assets()) {
    statement.subjects.push_back({asset.file_name(), asset.sha256()});
  }
  nlohmann::json predicate = {
      {"piece_id", piece.id()},
      {"studio_id", piece.studio_id()},
      {"studio_reference", piece.studio_reference()},
      {"kind", v1::PieceKind_Name(piece.kind())},
      {"version", version.number()},
      {"parent_version", version.parent_number()},
      {"parent_certificate",
       parent_certificate_id.empty()
           ? nlohmann::json()
           : nlohmann::json(std::string(parent_certificate_id))},
      {"twin", nlohmann::json::parse(twin_json)}};
  // Every fact must have a canonical form before anything is signed.
  if (auto canonical = crypto::CanonicalJson(predicate); !canonical.ok()) {
    return absl::InvalidArgumentError(StrCat(
        "version: a fact cannot be certified: ", canonical.status().message()));
  }
  statement.predicate = std::move(predicate);
  return statement;
}

}  // namespace loupe::server
