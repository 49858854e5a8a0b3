#include "geometry/jewelry_tables.h"

#include <cmath>
#include <iterator>
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

// Japan (JIS sizes as Japanese jewelers' charts give them): inner
// diameters in mm for sizes 1 to 30. The trade reads the size off this
// table, not off a formula; the nearest size is taken, and a diameter more
// than half a step beyond either end has no Japanese size.
constexpr double kJapanDiameters[] = {
    13.0, 13.3, 13.7, 14.0, 14.3, 14.7, 15.0, 15.3, 15.7, 16.0,
    16.3, 16.7, 17.0, 17.3, 17.7, 18.0, 18.3, 18.7, 19.0, 19.3,
    19.7, 20.0, 20.3, 20.7, 21.0, 21.3, 21.7, 22.0, 22.3, 22.7};

std::string JapanSize(double circumference) {
  const double d = circumference / std::numbers::pi;
  constexpr int kCount = std::size(kJapanDiameters);
  if (d < kJapanDiameters[0] - 0.17 || d > kJapanDiameters[kCount - 1] + 0.17) {
    return "";
  }
  int best = 0;
  for (int i = 1; i < kCount; ++i) {
    if (std::abs(kJapanDiameters[i] - d) <
        std::abs(kJapanDiameters[best] - d)) {
      best = i;
    }
  }
  return StrCat(best + 1);
}

}  // namespace

std::vector<RingSize> RingSizesFor(double c) {
  std::vector<RingSize> sizes;
  sizes.push_back({"ISO 8653", StrCat(std::lround(c))});
  if (auto us = UsSize(c); !us.empty()) sizes.push_back({"US/Canada", us});
  if (auto uk = UkSize(c); !uk.empty()) sizes.push_back({"UK/Australia", uk});
  if (c >= 40) sizes.push_back({"IT/ES/CH", StrCat(std::lround(c - 40))});
  if (auto jp = JapanSize(c); !jp.empty()) sizes.push_back({"JP", jp});
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
