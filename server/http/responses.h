#pragma once

// Internal to the gateway (gateway.cc, gateway_api.cc): building responses
// (text, JSON through protobuf's JSON mapping, errors with the HTTP status
// a caller acts on) and reading requests (path segments, query values,
// ids). Pure functions.

#include <google/protobuf/message.h>
#include <google/protobuf/util/json_util.h>

#include <charconv>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "base/str_cat.h"
#include "server/http/gateway.h"

namespace loupe::server::http {

inline constexpr char kJson[] = "application/json";
inline constexpr char kImmutable[] = "public, max-age=31536000, immutable";
inline constexpr size_t kMaxTarget = 2048;  // Longer targets: 414.

inline Response Text(int status, std::string body, std::string route = "") {
  Response r;
  r.status = status;
  r.body = std::move(body);
  r.route = std::move(route);
  return r;
}

inline std::string JsonString(std::string_view s) {
  return nlohmann::json(std::string(s))
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

inline Response Error(const absl::Status& s, std::string route) {
  Response r;
  r.status = HttpStatusFor(s.code());
  r.content_type = kJson;
  r.route = std::move(route);
  r.body = StrCat(
      "{\"error\":{\"code\":", JsonString(absl::StatusCodeToString(s.code())),
      ",\"message\":", JsonString(std::string(s.message())), "}}\n");
  if (r.status == 401) r.headers.push_back({"WWW-Authenticate", "Bearer"});
  if (r.status == 429) r.headers.push_back({"Retry-After", "1"});
  return r;
}

inline Response Json(const google::protobuf::Message& m, std::string route) {
  Response r;
  r.content_type = kJson;
  r.route = std::move(route);
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  if (auto s = google::protobuf::util::MessageToJsonString(m, &r.body, options);
      !s.ok()) {
    return Error(absl::InternalError(StrCat("json: ", s.ToString())), r.route);
  }
  r.body += "\n";
  r.headers.push_back({"Cache-Control", "no-cache"});
  return r;
}

template <typename T>
inline Response JsonOr(const absl::StatusOr<T>& result, std::string route) {
  if (!result.ok()) return Error(result.status(), std::move(route));
  return Json(*result, std::move(route));
}

inline std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= path.size()) {
    const size_t slash = path.find('/', start);
    const size_t end = slash == std::string_view::npos ? path.size() : slash;
    out.push_back(path.substr(start, end - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

// The value of `key` in a query string ("a=1&b=2"), or "".
inline std::string_view QueryValue(std::string_view query,
                                   std::string_view key) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) == key) {
      return eq == std::string_view::npos ? "" : pair.substr(eq + 1);
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return "";
}

// A number from the query; `fallback` when absent.
inline absl::StatusOr<uint64_t> QueryNumber(std::string_view query,
                                            std::string_view key,
                                            uint64_t fallback) {
  const std::string_view v = QueryValue(query, key);
  if (v.empty()) return fallback;
  uint64_t n = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || end != v.data() + v.size()) {
    return absl::InvalidArgumentError(
        StrCat(key, ": \"", v, "\" is not a whole number"));
  }
  return n;
}

// A version number in a path: a whole number, 0 for the current one.
inline absl::StatusOr<uint32_t> VersionNumber(std::string_view segment) {
  uint32_t number = 0;
  const auto [end, ec] =
      std::from_chars(segment.data(), segment.data() + segment.size(), number);
  if (ec != std::errc() || end != segment.data() + segment.size()) {
    return absl::InvalidArgumentError(
        "number: a version is a whole number (0 = current)");
  }
  return number;
}

// Ids travel in paths: letters, digits, '_', '-', '.', at most 128, and
// never "." or "..".
inline bool PlainSegment(std::string_view s) {
  if (s.empty() || s.size() > 128 || s == "." || s == "..") return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' &&
        c != '.') {
      return false;
    }
  }
  return true;
}

}  // namespace loupe::server::http
