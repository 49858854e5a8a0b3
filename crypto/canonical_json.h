#pragma once

// Loupe's canonical JSON: the bytes that are signed, so the same facts
// always give the same bytes. It is RFC 8785 (JCS) restricted so that
// every rule is simple (documented in docs/certificate-format.md):
//  - no whitespace; object keys sorted by their UTF-8 bytes (keys are
//    ASCII in Loupe's formats, where this is also JCS's order);
//  - strings: valid UTF-8, written as is except `"`, `\` and control
//    characters: \b \f \n \r \t, others as \u00xx (lower-case hex);
//  - numbers: integers in decimal; other numbers finite with magnitude in
//    [1e-6, 1e21), in the shortest decimal that reads back to the same
//    double, fixed notation (ES6 / JCS form in that range); -0 is 0.

#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/statusor.h"

namespace loupe::crypto {

// INVALID_ARGUMENT naming the JSON path of a value that has no canonical
// form (invalid UTF-8, NaN, infinity, a number outside the range).
[[nodiscard]] absl::StatusOr<std::string> CanonicalJson(
    const nlohmann::json& value);

}  // namespace loupe::crypto
