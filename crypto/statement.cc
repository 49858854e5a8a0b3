#include "crypto/statement.h"

#include <algorithm>
#include <set>

#include "absl/status/status.h"
#include "base/str_cat.h"
#include "crypto/canonical_json.h"
#include "crypto/json_limits.h"
#include "crypto/sha256.h"

namespace loupe::crypto {
namespace {

using Json = nlohmann::json;

Json SubjectJson(const Subject& s) {
  return {{"name", s.name}, {"digest", {{"sha256", s.sha256}}}};
}

void Sort(std::vector<Subject>* subjects) {
  std::sort(subjects->begin(), subjects->end(),
            [](const auto& a, const auto& b) {
              return std::tie(a.name, a.sha256) < std::tie(b.name, b.sha256);
            });
}

absl::Status CheckSubjects(const std::vector<Subject>& subjects) {
  auto path = [](size_t i) { return StrCat("subject[", i, "]"); };
  for (size_t i = 0; i < subjects.size(); ++i) {
    const auto& s = subjects[i];
    if (s.name.empty() || s.name == kSubjectSetName) {
      return absl::InvalidArgumentError(
          StrCat(path(i), ".name: empty or reserved"));
    }
    if (!IsSha256Hex(s.sha256)) {
      return absl::InvalidArgumentError(StrCat(
          path(i), ".digest.sha256: must be 64 lower-case hex characters"));
    }
  }
  // Duplicates are neighbours once sorted.
  std::vector<const Subject*> sorted;
  sorted.reserve(subjects.size());
  for (const auto& s : subjects) sorted.push_back(&s);
  std::sort(
      sorted.begin(), sorted.end(), [](const Subject* a, const Subject* b) {
        return std::tie(a->name, a->sha256) < std::tie(b->name, b->sha256);
      });
  for (size_t i = 1; i < sorted.size(); ++i) {
    if (*sorted[i] == *sorted[i - 1]) {
      const size_t later = std::max(sorted[i] - subjects.data(),
                                    sorted[i - 1] - subjects.data());
      return absl::InvalidArgumentError(StrCat(path(later), ": listed twice"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string SubjectSetDigest(std::vector<Subject> subjects) {
  Sort(&subjects);
  // The canonical JSON of [{"digest":{"sha256":HEX},"name":NAME},...],
  // written directly (keys already in order; digests are hex).
  std::string canonical = "[";
  for (size_t i = 0; i < subjects.size(); ++i) {
    if (i > 0) canonical.push_back(',');
    canonical.append("{\"digest\":{\"sha256\":\"");
    canonical.append(subjects[i].sha256);
    canonical.append("\"},\"name\":");
    canonical.append(CanonicalJson(Json(subjects[i].name)).value_or("\"\""));
    canonical.push_back('}');
  }
  canonical.push_back(']');
  return Sha256::HexOf(canonical);
}

absl::StatusOr<std::string> EncodeStatement(const Statement& statement) {
  std::vector<Subject> subjects = statement.subjects;
  if (auto s = CheckSubjects(subjects); !s.ok()) return s;
  if (statement.predicate_type.empty() || !statement.predicate.is_object()) {
    return absl::InvalidArgumentError(
        "predicate: a predicateType and an object are required");
  }
  Sort(&subjects);
  Json list = Json::array();
  for (const auto& s : subjects) list.push_back(SubjectJson(s));
  list.push_back(SubjectJson({kSubjectSetName, SubjectSetDigest(subjects)}));
  const Json json = {{"_type", kStatementType},
                     {"subject", list},
                     {"predicateType", statement.predicate_type},
                     {"predicate", statement.predicate}};
  return CanonicalJson(json);
}

absl::StatusOr<Statement> ParseStatement(std::string_view payload) {
  auto parsed = ParseJson(payload, "statement");
  if (!parsed.ok()) return parsed.status();
  const Json& json = *parsed;
  if (!json.is_object()) {
    return absl::InvalidArgumentError("statement: not a JSON object");
  }
  if (json.value("_type", "") != kStatementType) {
    return absl::InvalidArgumentError(
        StrCat("statement._type: must be ", kStatementType));
  }
  const Json subjects = json.value("subject", Json());
  if (!subjects.is_array()) {
    return absl::InvalidArgumentError("statement.subject: missing");
  }
  Statement statement;
  std::string set_digest;
  for (size_t i = 0; i < subjects.size(); ++i) {
    const Json& s = subjects[i];
    const std::string path = StrCat("statement.subject[", i, "]");
    if (!s.is_object() || !s.contains("name") || !s["name"].is_string() ||
        !s.contains("digest") || !s["digest"].is_object() ||
        !s["digest"].contains("sha256") || !s["digest"]["sha256"].is_string()) {
      return absl::InvalidArgumentError(
          StrCat(path, ": needs a name and digest.sha256"));
    }
    Subject subject{s["name"].get<std::string>(),
                    s["digest"]["sha256"].get<std::string>()};
    if (subject.name == kSubjectSetName) {
      set_digest = subject.sha256;
    } else {
      statement.subjects.push_back(std::move(subject));
    }
  }
  if (auto s = CheckSubjects(statement.subjects); !s.ok()) {
    return absl::InvalidArgumentError(StrCat("statement.", s.message()));
  }
  if (set_digest != SubjectSetDigest(statement.subjects)) {
    return absl::InvalidArgumentError(
        StrCat("statement.subject: the ", kSubjectSetName,
               " digest does not match the listed files"));
  }
  Sort(&statement.subjects);
  statement.predicate_type = json.value("predicateType", "");
  statement.predicate = json.value("predicate", Json());
  if (statement.predicate_type.empty() || !statement.predicate.is_object()) {
    return absl::InvalidArgumentError(
        "statement.predicate: predicateType and an object are required");
  }
  return statement;
}

}  // namespace loupe::crypto
