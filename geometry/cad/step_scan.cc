#include "geometry/cad/step_scan.h"

#include <algorithm>
#include <cctype>

#include "base/str_cat.h"
#include "geometry/cad/cad_readers.h"

namespace loupe::geometry::cad {
namespace {

absl::Status Invalid(std::string_view what) {
  return absl::InvalidArgumentError(StrCat("STEP: ", what));
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(c));
  return out;
}

// The schemas read: AP203 (CONFIG_CONTROL_DESIGN, and its second edition
// AP203_CONFIGURATION_CONTROLLED_3D_DESIGN...), AP214 (AUTOMOTIVE_DESIGN)
// and AP242 (AP242_MANAGED_MODEL_BASED_3D_ENGINEERING...).
bool KnownSchema(std::string_view schema) {
  const std::string s = Upper(schema);
  for (std::string_view known : {"CONFIG_CONTROL_DESIGN", "AP203",
                                 "AUTOMOTIVE_DESIGN", "AP214", "AP242"}) {
    if (s.find(known) != std::string::npos) return true;
  }
  return false;
}

// FILE_SCHEMA (('NAME ...')): the first quoted name after it, or empty.
std::string SchemaOf(std::string_view header) {
  const std::string upper = Upper(header);
  const size_t at = upper.find("FILE_SCHEMA");
  if (at == std::string::npos) return "";
  const size_t open = header.find('\'', at);
  if (open == std::string_view::npos) return "";
  const size_t close = header.find('\'', open + 1);
  if (close == std::string_view::npos) return "";
  return std::string(header.substr(open + 1, close - open - 1));
}

}  // namespace

absl::StatusOr<StepFacts> ScanStep(std::string_view bytes,
                                   const ReadLimits& limits) {
  if (bytes.size() > limits.max_cad_bytes) {
    return absl::ResourceExhaustedError(StrCat(
        "STEP: ", bytes.size(), " bytes; the limit is ", limits.max_cad_bytes));
  }
  if (bytes.substr(0, 3) == "\xEF\xBB\xBF") bytes.remove_prefix(3);
  size_t i = 0;
  while (i < bytes.size() && std::isspace(static_cast<unsigned char>(bytes[i])))
    ++i;
  if (bytes.substr(i, 13) != "ISO-10303-21;") {
    return Invalid(
        "does not start with ISO-10303-21; (not an ISO 10303-21 file)");
  }
  StepFacts facts;
  // One pass: strings ('...', '' inside) and comments (/* */) skipped,
  // parentheses counted, statements counted.
  int depth = 0;
  uint64_t statements = 0;
  size_t statement_start = i;
  size_t data_start = std::string_view::npos;
  bool in_data = false;
  for (; i < bytes.size(); ++i) {
    const char c = bytes[i];
    if (c == '\'') {
      for (++i; i < bytes.size(); ++i) {
        if (bytes[i] != '\'') continue;
        if (i + 1 < bytes.size() && bytes[i + 1] == '\'') {
          ++i;
          continue;
        }
        break;
      }
      if (i >= bytes.size()) return Invalid("truncated inside a string");
    } else if (c == '/' && i + 1 < bytes.size() && bytes[i + 1] == '*') {
      const size_t end = bytes.find("*/", i + 2);
      if (end == std::string_view::npos) {
        return Invalid("truncated inside a comment");
      }
      i = end + 1;
    } else if (c == '(') {
      if (++depth > kStepMaxNesting) {
        return Invalid(StrCat("parentheses nested deeper than ",
                              kStepMaxNesting, " at byte ", i));
      }
    } else if (c == ')') {
      if (--depth < 0) return Invalid(StrCat("unbalanced ')' at byte ", i));
    } else if (c == ';') {
      if (depth != 0) {
        return Invalid(StrCat("';' inside parentheses at byte ", i));
      }
      std::string_view statement =
          bytes.substr(statement_start, i + 1 - statement_start);
      while (!statement.empty() &&
             std::isspace(static_cast<unsigned char>(statement.front()))) {
        statement.remove_prefix(1);
      }
      if (statement == "DATA;") {
        in_data = true;
        if (data_start == std::string_view::npos) data_start = i;
      } else if (statement == "ENDSEC;") {
        in_data = false;
      } else if (in_data && ++statements > limits.max_step_entities) {
        return absl::ResourceExhaustedError(StrCat("STEP: more than ",
                                                   limits.max_step_entities,
                                                   " entities (the limit)"));
      }
      statement_start = i + 1;
    }
  }
  std::string_view rest = bytes.substr(statement_start);
  while (!rest.empty() && std::isspace(static_cast<unsigned char>(rest[0]))) {
    rest.remove_prefix(1);
  }
  if (!rest.empty() || depth != 0) {
    return Invalid("truncated: the last statement does not end with ';'");
  }
  const size_t end = bytes.rfind("END-ISO-10303-21;");
  if (end == std::string_view::npos ||
      bytes.find_first_not_of(" \t\r\n", end + 17) != std::string_view::npos) {
    return Invalid("truncated: it does not end with END-ISO-10303-21;");
  }
  if (data_start == std::string_view::npos) return Invalid("no DATA section");
  facts.entities = statements;
  facts.schema = SchemaOf(bytes.substr(0, data_start));
  if (!KnownSchema(facts.schema)) {
    return Invalid(
        StrCat("schema '", facts.schema, "' is not AP203, AP214 or AP242"));
  }
  if (facts.entities == 0) return Invalid("the DATA section is empty");
  return facts;
}

}  // namespace loupe::geometry::cad
