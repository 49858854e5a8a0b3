#pragma once

// Internal to the S3 client: just enough XML for S3's answers (flat
// elements with text, no attributes needed, the five predefined entities).
// Pure functions; no allocation beyond the returned strings.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace loupe::storage::s3::xml {

// The text of every <tag>...</tag> element in `doc`, in order, entities
// decoded ("&amp;" -> "&").
[[nodiscard]] std::vector<std::string> Values(std::string_view doc,
                                              std::string_view tag);
// The first such text, or "" if none.
[[nodiscard]] std::string First(std::string_view doc, std::string_view tag);
// The raw inner XML of every <tag>...</tag> element (for lists of records).
[[nodiscard]] std::vector<std::string_view> Elements(std::string_view doc,
                                                     std::string_view tag);
// `text` with &, <, >, ", ' escaped.
[[nodiscard]] std::string Escape(std::string_view text);
// ISO 8601 ("2026-12-07T02:43:36.000Z") or RFC 1123 ("Mon, 07 Dec 2026
// 02:43:36 GMT") time as Unix seconds; 0 if unparsable.
[[nodiscard]] int64_t ParseTime(std::string_view text);

}  // namespace loupe::storage::s3::xml
