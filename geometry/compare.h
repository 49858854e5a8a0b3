#pragma once

// The geometry checker's verdict: a mesh (a scan of a repaired piece, a
// new CAD file or cast, a resized ring, a new band) against the stored twin,
// for a stated purpose and tolerance. Rules in docs/geometry.md:
//  REPAIR, REORDER  aligned (REORDER may allow a casting scale), then
//                   P95 |deviation| <= tolerance, max |deviation| <= 3 x
//                   tolerance, and coverage of the twin >= 95 %;
//  RESIZE           both measured as rings: band width and minimum wall
//                   within tolerance, inner diameter changed by more than
//                   it; the new size is reported;
//  MATCHING_BAND    both measured as rings: inner diameters within
//                   tolerance (the same size), and the band's profile
//                   fits beside the ring: slid along the axis until it
//                   touches, at its best turn, 90 % of its facing side
//                   within tolerance of the ring (band_fit.h).

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "geometry/align.h"
#include "geometry/band_fit.h"
#include "geometry/deviation.h"
#include "geometry/mesh.h"
#include "geometry/ring.h"

namespace loupe::geometry {

enum class Purpose { kRepair, kReorder, kResize, kMatchingBand };

[[nodiscard]] std::optional<Purpose> ParsePurpose(std::string_view name);
[[nodiscard]] const char* PurposeName(Purpose purpose);

struct CompareOptions {
  Purpose purpose = Purpose::kRepair;
  double tolerance_mm = 0.05;
  bool allow_scale = false;        // REORDER only: a casting scale.
  double max_scale_change = 0.03;  // Refused beyond 3 %.
  int threads = 2;
  // Called as each stage ends ("prepare", "align", "deviation",
  // "coverage"), e.g. to time them; may be empty.
  std::function<void(std::string_view stage)> on_stage;
};

struct CompareReport {
  bool pass = false;
  std::vector<std::string> reasons;  // Each rule, with its numbers.
  AlignResult alignment;
  std::optional<Deviation> to_twin;  // Signed, per vertex of the mesh.
  double coverage = 0;               // Share of the twin's area near it.
  std::optional<RingMeasurements> ring, twin_ring;
  std::optional<BandFit> band_fit;  // MATCHING_BAND only.
  Mesh aligned;                     // The mesh in the twin's frame.
};

// FAILED_PRECONDITION when a ring purpose meets a mesh that is not a ring.
// `mesh` is taken by value: it becomes the report's aligned mesh (move it
// in to save a copy).
[[nodiscard]] absl::StatusOr<CompareReport> Compare(
    Mesh mesh, const Mesh& twin, const CompareOptions& options);

}  // namespace loupe::geometry
