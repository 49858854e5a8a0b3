#include "crypto/json_limits.h"

#include <set>
#include <string>
#include <vector>

#include "base/str_cat.h"
#include "crypto/canonical_json.h"

namespace loupe::crypto {
namespace {

using Json = nlohmann::json;

// A key as it may be shown in a message: JSON-quoted (so control bytes are
// escaped, invalid UTF-8 replaced), at most 64 bytes of it.
std::string QuotedKey(const std::string& key) {
  const std::string shown = key.size() > 64 ? key.substr(0, 64) + "..." : key;
  return Json(shown).dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace

int JsonDepth(std::string_view text, int stop_above) {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // The escaped character, whatever it is.
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > deepest) {
          deepest = depth;
          if (deepest > stop_above) return deepest;
        }
        break;
      case ']':
      case '}':
        --depth;  // Unbalanced input is the parser's to refuse.
        break;
      default:
        break;
    }
  }
  return deepest;
}

absl::StatusOr<Json> ParseJson(std::string_view text, std::string_view what,
                               JsonLimits limits) {
  if (text.size() > limits.max_bytes) {
    return absl::InvalidArgumentError(StrCat(what, ": larger than ",
                                             limits.max_bytes, " bytes (",
                                             text.size(), " bytes)"));
  }
  if (JsonDepth(text, limits.max_depth) > limits.max_depth) {
    return absl::InvalidArgumentError(
        StrCat(what, ": nested deeper than ", limits.max_depth, " levels"));
  }
  // The keys seen in each object being parsed, innermost last.
  std::vector<std::set<std::string>> open_objects;
  std::string duplicate;
  const Json::parser_callback_t track_keys = [&](int, Json::parse_event_t event,
                                                 Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
        open_objects.emplace_back();
        break;
      case Json::parse_event_t::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      case Json::parse_event_t::key:
        if (!open_objects.empty() &&
            !open_objects.back().insert(parsed.get<std::string>()).second &&
            duplicate.empty()) {
          duplicate = QuotedKey(parsed.get<std::string>());
        }
        break;
      default:
        break;
    }
    return true;
  };
  Json json;
  try {
    json = Json::parse(text, track_keys, /*allow_exceptions=*/true);
  } catch (const Json::parse_error& e) {
    return absl::InvalidArgumentError(
        StrCat(what, ": not JSON (syntax error at byte ", e.byte, ")"));
  } catch (const Json::exception& e) {
    return absl::InvalidArgumentError(StrCat(what, ": not JSON"));
  }
  if (!duplicate.empty()) {
    return absl::InvalidArgumentError(
        StrCat(what, ": duplicate key ", duplicate,
               " (a key may appear once per object, so that every reader "
               "sees the same value)"));
  }
  return json;
}

absl::StatusOr<Json> ParseCanonicalJson(std::string_view text,
                                        std::string_view what) {
  auto json = ParseJson(text, what);
  if (!json.ok()) return json.status();
  auto canonical = CanonicalJson(*json);
  if (!canonical.ok()) {
    return absl::InvalidArgumentError(
        StrCat(what, ": not canonical JSON: ", canonical.status().message()));
  }
  if (*canonical != text) {
    return absl::InvalidArgumentError(
        StrCat(what,
               ": not canonical JSON (sorted keys, no whitespace; see "
               "docs/certificate-format.md), so its signed bytes could be "
               "read more than one way"));
  }
  return json;
}

}  // namespace loupe::crypto
