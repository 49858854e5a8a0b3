#pragma once

// in-toto Statement v1, the payload of a Loupe certificate. Subjects are the
// twin version's files (name, sha256), sorted by name then digest, plus one
// subject named kSubjectSetName whose digest commits to the whole list, so
// that a verifier holding the files can tell none was left out. The
// predicate is the caller's JSON (the version's facts). The encoding is
// canonical (CanonicalJson): the same facts give the same bytes.

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace loupe::crypto {

inline constexpr char kStatementPayloadType[] = "application/vnd.in-toto+json";
inline constexpr char kStatementType[] = "https://in-toto.io/Statement/v1";
inline constexpr char kSubjectSetName[] = "loupe:subject-set";

struct Subject {
  std::string name;
  std::string sha256;  // 64 lower-case hex characters.
  bool operator==(const Subject&) const = default;
};

struct Statement {
  std::vector<Subject> subjects;  // The files, sorted; not the set subject.
  std::string predicate_type;
  nlohmann::json predicate;
};

// The set digest: lower-case hex SHA-256 of the canonical JSON array
// [{"digest":{"sha256":HEX},"name":NAME}, ...] of `subjects`, sorted by name
// then digest.
[[nodiscard]] std::string SubjectSetDigest(std::vector<Subject> subjects);

// The canonical payload. INVALID_ARGUMENT for a malformed subject (empty
// name, bad digest, duplicate) or a predicate with no canonical form.
[[nodiscard]] absl::StatusOr<std::string> EncodeStatement(
    const Statement& statement);

// Parses a payload (after its signature verified) and checks the set
// subject against the file subjects. INVALID_ARGUMENT naming the field.
[[nodiscard]] absl::StatusOr<Statement> ParseStatement(
    std::string_view payload);

}  // namespace loupe::crypto
