#pragma once

// Jewelry reference data as tables (../shared/reference/jewelry.md):
// ring-size systems from the inner circumference, and alloy densities for
// weight estimates. Data, not formulas, wherever the trade uses a table.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace loupe::geometry {

struct RingSize {
  // "ISO 8653", "US/Canada", "UK/Australia", "IT/ES/CH" or "JP".
  std::string system;
  std::string size;  // "54", "7", "N 1/2", "14", "14"
};

// Every system's size for an inner circumference (mm), each to the nearest
// size step the system uses (US quarters, UK half letters, whole ISO,
// IT/ES/CH and Japanese sizes). Systems whose table does not reach the
// value are left out.
[[nodiscard]] std::vector<RingSize> RingSizesFor(double inner_circumference_mm);

struct Alloy {
  std::string_view name;   // e.g. "18k-rose"
  std::string_view label;  // e.g. "18k rose gold"
  double density_g_cm3;    // the middle of the reference's range
};

[[nodiscard]] const std::vector<Alloy>& Alloys();
[[nodiscard]] std::optional<Alloy> FindAlloy(std::string_view name);

// Weight in grams of `volume_mm3` of `alloy`.
[[nodiscard]] inline double WeightGrams(double volume_mm3, const Alloy& alloy) {
  return volume_mm3 / 1000 * alloy.density_g_cm3;
}

}  // namespace loupe::geometry
