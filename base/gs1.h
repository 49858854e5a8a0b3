#pragma once

// GS1 identifiers a studio may give a piece (Piece.gtin, Piece.serial) and
// the GS1 Digital Link URI path made of them (GS1 Digital Link URI Syntax:
// "/01/{GTIN-14}/21/{serial}", the GTIN padded with zeros to 14 digits and
// the serial percent-encoded). Header-only, pure functions.

#include <algorithm>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "base/str_cat.h"

namespace loupe {

// OK if `gtin` is a GTIN-8, -12, -13 or -14 (digits only) whose last digit
// is the GS1 check digit of the others; else INVALID_ARGUMENT naming
// `field` and what is wrong (the expected check digit included).
[[nodiscard]] inline absl::Status ValidateGtin(std::string_view field,
                                               std::string_view gtin) {
  const size_t n = gtin.size();
  if (n != 8 && n != 12 && n != 13 && n != 14) {
    return absl::InvalidArgumentError(
        StrCat(field, ": a GTIN has 8, 12, 13 or 14 digits, not ", n));
  }
  for (char c : gtin) {
    if (c < '0' || c > '9') {
      return absl::InvalidArgumentError(
          StrCat(field, ": a GTIN is digits only"));
    }
  }
  // Weights 3, 1, 3, ... from the digit left of the check digit.
  int sum = 0;
  for (size_t i = 0; i + 1 < n; ++i) {
    const int digit = gtin[n - 2 - i] - '0';
    sum += digit * (i % 2 == 0 ? 3 : 1);
  }
  const int check = (10 - sum % 10) % 10;
  if (gtin[n - 1] - '0' != check) {
    return absl::InvalidArgumentError(
        StrCat(field, ": check digit ", gtin.substr(n - 1), " is wrong (",
               gtin.substr(0, n - 1), " needs ", check, ")"));
  }
  return absl::OkStatus();
}

// Whether `c` is in GS1's AI encodable character set 82, which serial
// numbers (AI 21) are written in.
[[nodiscard]] constexpr bool IsGs1Char82(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') ||
         std::string_view("!\"%&'()*+,-./:;<=>?_").find(c) !=
             std::string_view::npos;
}

// OK if `serial` is a GS1 serial number (AI 21): 1 to 20 characters of set
// 82. Else INVALID_ARGUMENT naming `field`.
[[nodiscard]] inline absl::Status ValidateGs1Serial(std::string_view field,
                                                    std::string_view serial) {
  if (serial.empty() || serial.size() > 20) {
    return absl::InvalidArgumentError(
        StrCat(field, ": a GS1 serial number has 1 to 20 characters"));
  }
  for (char c : serial) {
    if (!IsGs1Char82(c)) {
      return absl::InvalidArgumentError(
          StrCat(field, ": '", std::string_view(&c, 1),
                 "' is not allowed in a GS1 serial number (letters, digits "
                 "and !\"%&'()*+,-./:;<=>?_)"));
    }
  }
  return absl::OkStatus();
}

// The GS1 Digital Link path of a valid GTIN and serial:
// "/01/<GTIN-14>/21/<serial, percent-encoded>". Unreserved URI characters
// stay as they are; every other byte becomes %XX.
[[nodiscard]] inline std::string Gs1DigitalLinkPath(std::string_view gtin,
                                                    std::string_view serial) {
  std::string out = "/01/";
  out.append(14 - std::min<size_t>(14, gtin.size()), '0');
  out += gtin;
  out += "/21/";
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : serial) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
        (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
        c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace loupe
