#pragma once

// How engines store the registry's records (pieces, versions, certificates,
// owners): a two-byte header, 0x00 then the record schema version, followed
// by the record's protobuf encoding. The API protos are the record layout
// of schema version 1; a change to what is stored gets a new version and a
// reader for the old one. Records written before schema versions existed
// (plain protobuf, which never begins with 0x00: field number 0 is invalid)
// read as version 1.

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/str_cat.h"

namespace loupe::storage {

inline constexpr uint8_t kRecordSchemaVersion = 1;

template <typename Message>
[[nodiscard]] std::string EncodeRecord(const Message& m) {
  std::string out;
  out.reserve(2 + m.ByteSizeLong());
  out.push_back('\0');
  out.push_back(static_cast<char>(kRecordSchemaVersion));
  m.AppendToString(&out);
  return out;
}

// DATA_LOSS naming `what` if the bytes do not parse; FAILED_PRECONDITION if
// a newer Loupe wrote them (a schema version this one cannot read).
template <typename Message>
[[nodiscard]] absl::StatusOr<Message> DecodeRecord(std::string_view bytes,
                                                   std::string_view what) {
  if (!bytes.empty() && bytes[0] == '\0') {
    if (bytes.size() < 2) {
      return absl::DataLossError(StrCat("stored ", what, " is truncated"));
    }
    const auto version = static_cast<uint8_t>(bytes[1]);
    if (version != kRecordSchemaVersion) {
      return absl::FailedPreconditionError(
          StrCat("stored ", what, " has record schema version ", version,
                 "; this loupe-server reads version ", kRecordSchemaVersion,
                 ": upgrade it"));
    }
    bytes.remove_prefix(2);
  }
  Message m;
  if (!m.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError(StrCat("stored ", what, " is corrupt"));
  }
  return m;
}

}  // namespace loupe::storage
