#include "crypto/canonical_json.h"

#include <charconv>
#include <cmath>
#include <cstdio>

#include "absl/status/status.h"
#include "base/str_cat.h"

namespace loupe::crypto {
namespace {

using Json = nlohmann::json;

// Length of the UTF-8 sequence starting at s[i], or 0 if invalid (overlong,
// surrogate, beyond U+10FFFF, truncated).
size_t Utf8Length(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) return 1;
  size_t n = 0;
  uint32_t cp = 0;
  if ((c & 0xe0) == 0xc0) {
    n = 2, cp = c & 0x1f;
  } else if ((c & 0xf0) == 0xe0) {
    n = 3, cp = c & 0x0f;
  } else if ((c & 0xf8) == 0xf0) {
    n = 4, cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3f);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
    return 0;
  }
  return n;
}

absl::Status AppendString(std::string_view s, const std::string& path,
                          std::string* out) {
  out->push_back('"');
  for (size_t i = 0; i < s.size();) {
    const size_t n = Utf8Length(s, i);
    if (n == 0) {
      return absl::InvalidArgumentError(StrCat(path, ": invalid UTF-8"));
    }
    const char c = s[i];
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
          out->append(escaped);
        } else {
          out->append(s.substr(i, n));
        }
    }
    i += n;
  }
  out->push_back('"');
  return absl::OkStatus();
}

absl::Status AppendDouble(double v, const std::string& path, std::string* out) {
  if (!std::isfinite(v)) {
    return absl::InvalidArgumentError(StrCat(path, ": not a finite number"));
  }
  if (v == 0) {
    out->push_back('0');  // Also -0.
    return absl::OkStatus();
  }
  const double magnitude = std::fabs(v);
  if (magnitude < 1e-6 || magnitude >= 1e21) {
    return absl::InvalidArgumentError(
        StrCat(path, ": magnitude outside [1e-6, 1e21)"));
  }
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, v,
                                 std::chars_format::fixed);
  if (ec != std::errc()) {
    return absl::InternalError(StrCat(path, ": cannot format number"));
  }
  out->append(buffer, end);
  return absl::OkStatus();
}

absl::Status Append(const Json& value, const std::string& path,
                    std::string* out) {
  switch (value.type()) {
    case Json::value_t::null:
      out->append("null");
      return absl::OkStatus();
    case Json::value_t::boolean:
      out->append(value.get<bool>() ? "true" : "false");
      return absl::OkStatus();
    case Json::value_t::number_integer:
      out->append(std::to_string(value.get<int64_t>()));
      return absl::OkStatus();
    case Json::value_t::number_unsigned:
      out->append(std::to_string(value.get<uint64_t>()));
      return absl::OkStatus();
    case Json::value_t::number_float:
      return AppendDouble(value.get<double>(), path, out);
    case Json::value_t::string:
      return AppendString(value.get_ref<const std::string&>(), path, out);
    case Json::value_t::array: {
      out->push_back('[');
      for (size_t i = 0; i < value.size(); ++i) {
        if (i > 0) out->push_back(',');
        if (auto s = Append(value[i], StrCat(path, "[", i, "]"), out);
            !s.ok()) {
          return s;
        }
      }
      out->push_back(']');
      return absl::OkStatus();
    }
    case Json::value_t::object: {
      // nlohmann's default object is a std::map: keys in byte order.
      out->push_back('{');
      bool first = true;
      for (const auto& [key, member] : value.items()) {
        if (!first) out->push_back(',');
        first = false;
        const std::string member_path = StrCat(path, ".", key);
        if (auto s = AppendString(key, member_path, out); !s.ok()) return s;
        out->push_back(':');
        if (auto s = Append(member, member_path, out); !s.ok()) return s;
      }
      out->push_back('}');
      return absl::OkStatus();
    }
    default:
      return absl::InvalidArgumentError(
          StrCat(path, ": binary values have no JSON form"));
  }
}

}  // namespace

absl::StatusOr<std::string> CanonicalJson(const nlohmann::json& value) {
  std::string out;
  if (auto s = Append(value, "$", &out); !s.ok()) return s;
  return out;
}

}  // namespace loupe::crypto
