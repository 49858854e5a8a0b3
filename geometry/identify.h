#pragma once

// Verification of an identification candidate: a scan (partial, noisy,
// worn, in any pose) against a twin's mesh, both with their ring frames
// (geometry/signature.h). The frames give the starting poses (the scan's
// axis onto the twin's, both ways up, at 24 turns about it); the existing
// aligner (geometry/align.h) refines the best, and the exact deviation
// (geometry/deviation.h) of every scan vertex scores it: the share of the
// scan's area within the tolerance of the twin.

#include <vector>

#include "geometry/align.h"
#include "geometry/deviation.h"
#include "geometry/distance.h"
#include "geometry/mesh.h"
#include "geometry/signature.h"

namespace loupe::geometry {

struct Verification {
  double within_tolerance = 0;  // Share of the scan's area.
  double rms_mm = 0;            // Of every scan vertex (area-weighted).
  double max_abs_mm = 0;
  double p95_abs_mm = 0;
  // Where both surfaces were seen (cells of 0.4 mm by 0.4 mm on the twin's
  // cylinder, angle by height along the axis), the share of cells whose
  // outermost surfaces differ by more than `conflict_mm`: material one has
  // and the other has not (a head on a plain band, a twist), which the
  // scan-to-twin share cannot see when the scan lies on the twin's band.
  double envelope_conflict = 0;
  // FaceOffsetSpread of the aligned scan: wear and noise move every face of
  // the band alike, a ring a few hundredths wider, thicker or larger moves
  // one face against the others.
  double face_offset_spread_mm = 0;
  AlignResult alignment;
};

// The scan's starting poses onto the twin from the two frames.
[[nodiscard]] std::vector<Pose> FramePoses(const RingFrame& scan,
                                           const RingFrame& twin,
                                           int turns = 72);

// `scan_areas` are VertexAreas(scan). Uses `threads` threads. Pure.
[[nodiscard]] Verification Verify(const Mesh& scan,
                                  const std::vector<double>& scan_areas,
                                  const RingFrame& scan_frame, const Mesh& twin,
                                  const MeshDistance& twin_distance,
                                  const RingFrame& twin_frame,
                                  double tolerance_mm, int threads);

// Envelope_conflict of `aligned_scan` (in the twin's frame) against
// `twin`: cells where the outermost radius about `frame` differs by more
// than `conflict_mm`, over cells both have.
[[nodiscard]] double EnvelopeConflict(const Mesh& aligned_scan,
                                      const Mesh& twin, const RingFrame& frame,
                                      double conflict_mm);

// The faces of a band seen by the scan (`aligned_scan`, in the twin's
// frame): its inner wall, outer surface and two sides, told apart by the
// normal of the twin's triangle nearest each scan vertex
// (`deviation.closest_triangle`). For each face covered by at least
// `min_face_mm2` of the scan, the area-weighted median of the signed
// deviations within ±0.15 mm (an engraving, a head left out); returns the
// largest of these medians minus the smallest, 0 when fewer than two faces
// are covered. `areas` are VertexAreas(aligned_scan). Pure.
[[nodiscard]] double FaceOffsetSpread(const Mesh& aligned_scan,
                                      const Deviation& deviation,
                                      const std::vector<double>& areas,
                                      const Mesh& twin, const RingFrame& frame,
                                      double min_face_mm2 = 30);

}  // namespace loupe::geometry
