#include "geometry/cad/step_scan.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

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

// The DATA section's references: entity `from` (index in file order)
// names `#to`.
struct References {
  std::vector<uint64_t> ids;                         // Each entity's #id.
  std::vector<std::pair<uint32_t, uint64_t>> edges;  // Grouped by from.
};

// Every reference names a defined entity and none leads back to where it
// started: the library follows references recursively (a cycle overflowed
// its stack in the fuzzer, an undefined one leaves a null it may follow).
absl::Status CheckReferences(const References& r) {
  std::unordered_map<uint64_t, uint32_t> index;
  index.reserve(r.ids.size());
  for (uint32_t e = 0; e < r.ids.size(); ++e) {
    if (!index.emplace(r.ids[e], e).second) {
      return Invalid(StrCat("#", r.ids[e], " is defined twice"));
    }
  }
  // Adjacency by entity (edges arrive grouped by `from`, in order).
  std::vector<uint32_t> start(r.ids.size() + 1, 0), to(r.edges.size());
  for (size_t k = 0; k < r.edges.size(); ++k) {
    const auto it = index.find(r.edges[k].second);
    if (it == index.end()) {
      return Invalid(StrCat("#", r.ids[r.edges[k].first], " refers to #",
                            r.edges[k].second, ", which is not defined"));
    }
    to[k] = it->second;
    ++start[r.edges[k].first + 1];
  }
  for (size_t e = 0; e < r.ids.size(); ++e) start[e + 1] += start[e];
  // Depth-first, without recursion: 1 on the path, 2 done.
  std::vector<uint8_t> state(r.ids.size(), 0);
  std::vector<std::pair<uint32_t, uint32_t>> path;  // Entity, next edge.
  for (uint32_t root = 0; root < r.ids.size(); ++root) {
    if (state[root] != 0) continue;
    state[root] = 1;
    path.push_back({root, start[root]});
    while (!path.empty()) {
      auto& [e, next] = path.back();
      if (next == start[e + 1]) {
        state[e] = 2;
        path.pop_back();
        continue;
      }
      const uint32_t n = to[next++];
      if (state[n] == 1) {
        return Invalid(StrCat("#", r.ids[n],
                              " refers back to itself through "
                              "its references (a cycle)"));
      }
      if (state[n] == 0) {
        state[n] = 1;
        path.push_back({n, start[n]});
      }
    }
  }
  return absl::OkStatus();
}

// The decimal number at bytes[*i] (advancing *i past it), or nullopt.
std::optional<uint64_t> Number(std::string_view bytes, size_t* i) {
  uint64_t n = 0;
  const size_t from = *i;
  while (*i < bytes.size() &&
         std::isdigit(static_cast<unsigned char>(bytes[*i])) &&
         *i - from < 18) {
    n = n * 10 + (bytes[*i] - '0');
    ++*i;
  }
  if (*i == from) return std::nullopt;
  return n;
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
  References refs;
  bool has_id = false;  // The DATA statement being read began with #id.
  for (; i < bytes.size(); ++i) {
    const char c = bytes[i];
    if (c == '#' && in_data) {
      size_t at = i + 1;
      const std::optional<uint64_t> n = Number(bytes, &at);
      if (!n) return Invalid(StrCat("'#' without a number at byte ", i));
      // The first #number of a statement, outside parentheses, is its id.
      const bool first = !has_id && depth == 0;
      if (first) {
        refs.ids.push_back(*n);
        has_id = true;
      } else if (has_id) {
        refs.edges.push_back({static_cast<uint32_t>(refs.ids.size() - 1), *n});
      }
      i = at - 1;
    } else if (c == '\'') {
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
      has_id = false;
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
  if (auto s = CheckReferences(refs); !s.ok()) return s;
  return facts;
}

}  // namespace loupe::geometry::cad
