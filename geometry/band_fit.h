#pragma once

// How a matching band sits beside a ring (docs/geometry.md). Both are
// brought into their own ring frames (axis and centre from MeasureRing),
// put on one axis, and the band is slid along it until it touches the
// ring: at every turn about the axis (0.5 degree steps), on either side of
// the ring, either face of the band towards it. The facing gaps are
// measured on a polar grid over the band's face (32 rings x 720 sectors
// between its inner and outer radius) where both have material, weighted
// by area. The best placement is the one with the smallest mean gap.

#include "absl/status/statusor.h"
#include "geometry/mesh.h"
#include "geometry/ring.h"

namespace loupe::geometry {

struct BandFit {
  double turn_deg = 0;     // The band's turn about the axis, in its frame.
  bool flipped = false;    // The band's other face towards the ring.
  bool below = false;      // Beside the ring's other face.
  double mean_gap_mm = 0;  // Area-weighted over the facing footprint.
  double gap_p90_mm = 0;   // 90 % of the footprint within this gap.
  double gap_max_mm = 0;
  double footprint_share = 0;  // Share of the band's face facing the ring.
};

// FAILED_PRECONDITION when the two faces do not overlap at all.
// Thread-compatible; reads both meshes only.
[[nodiscard]] absl::StatusOr<BandFit> FitBeside(const Mesh& band,
                                                const RingMeasurements& band_m,
                                                const Mesh& ring,
                                                const RingMeasurements& ring_m);

}  // namespace loupe::geometry
