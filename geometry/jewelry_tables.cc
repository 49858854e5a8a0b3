#include "geometry/jewelry_tables.h"

#include <cmath>
#include <numbers>

#include "base/str_cat.h"

namespace loupe::geometry {
namespace {

// UK/Australia letters (BS 6820): A is 37.50 mm of inner circumference and
// each half size adds 0.625 mm, to Z (68.75 mm).
constexpr double kUkA = 37.5;
constexpr double kUkHalfStep = 0.625;

std::string UkSize(double circumference) {
  const long halves = std::lround((circumference - kUkA) / kUkHalfStep);
  if (halves < 0 || halves > 50) return "";
  std::string size(1, static_cast<char>('A' + halves / 2));
  if (halves % 2) size += " 1/2";
  return size;
}

// US/Canada: inner diameter in inches = 0.458 + 0.032 x size, in quarters.
std::string UsSize(double circumference) {
  const double diameter_in = circumference / std::numbers::pi / 25.4;
  const double size = std::round((diameter_in - 0.458) / 0.032 * 4) / 4;
  if (size < 0 || size > 16) return "";
  const double whole = std::floor(size);
  static constexpr const char* kQuarters[] = {"", " 1/4", " 1/2", " 3/4"};
  return StrCat(static_cast<int>(whole),
                kQuarters[static_cast<int>((size - whole) * 4)]);
}

}  // namespace

std::vector<RingSize> RingSizesFor(double c) {
  std::vector<RingSize> sizes;
  sizes.push_back({"ISO 8653", StrCat(std::lround(c))});
  if (auto us = UsSize(c); !us.empty()) sizes.push_back({"US/Canada", us});
  if (auto uk = UkSize(c); !uk.empty()) sizes.push_back({"UK/Australia", uk});
  if (c >= 40) sizes.push_back({"IT/ES/CH", StrCat(std::lround(c - 40))});
  return sizes;
}

const std::vector<Alloy>& Alloys() {
  static const auto* alloys = new std::vector<Alloy>{
      {"24k", "24k fine gold", 19.3},
      {"22k-yellow", "22k yellow gold", 17.8},
      {"18k-yellow", "18k yellow gold", 15.5},
      {"18k-white", "18k white gold (nickel)", 14.7},
      {"18k-rose", "18k rose gold", 15.15},
      {"14k-yellow", "14k yellow gold", 13.4},
      {"14k-white", "14k white gold", 12.7},
      {"9k-yellow", "9k yellow gold", 11.1},
      {"9k-white", "9k white gold", 10.7},
      {"pt950", "platinum 950", 20.65},
      {"pd950", "palladium 950", 12.0},
      {"sterling", "sterling silver 925", 10.35},
      {"silver999", "fine silver 999", 10.5},
  };
  return *alloys;
}

std::optional<Alloy> FindAlloy(std::string_view name) {
  for (const auto& a : Alloys()) {
    if (a.name == name) return a;
  }
  return std::nullopt;
}

}  // namespace loupe::geometry
