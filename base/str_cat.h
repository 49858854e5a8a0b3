#pragma once

// loupe::StrCat: absl::StrCat that also takes std::string_view.
//
// Debian's abseil is built with its own absl::string_view (not an alias of
// std::string_view), so absl::StrCat rejects std::string_view arguments.
// This forwards everything else to absl::StrCat unchanged.

#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"

namespace loupe {
namespace str_cat_internal {

inline absl::string_view Piece(std::string_view v) {
  return absl::string_view(v.data(), v.size());
}
template <typename T>
const T& Piece(const T& v) {
  return v;
}

}  // namespace str_cat_internal

template <typename... Args>
[[nodiscard]] std::string StrCat(const Args&... args) {
  return absl::StrCat(str_cat_internal::Piece(args)...);
}

}  // namespace loupe
