#pragma once

// Rigid alignment of a mesh (a scan, a new CAD file) onto a reference (the
// twin), with an optional uniform scale (casting shrinkage), reported on
// its own:
//  1. coarse: centres of mass and principal axes matched, every proper
//     sign choice of the axes, and for a ring (two equal variances) twelve
//     rotations about its axis; the best by RMS on a subsample wins;
//  2. point-to-plane ICP on up to `max_samples` area-weighted samples,
//     trimming the worst `trim` share of correspondences each iteration.
// A plain band is symmetric about its axis: then the rotation about it is
// not determined by the geometry, which the result says (pose_determined).

#include <array>
#include <string>
#include <vector>

#include "geometry/distance.h"
#include "geometry/measure.h"
#include "geometry/mesh.h"

namespace loupe::geometry {

struct Pose {
  std::array<std::array<double, 3>, 3> rotation = {
      {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}};
  Vec3 translation;
  double scale = 1;  // Applied with the rotation: x' = s R x + t.

  [[nodiscard]] Vec3 Apply(const Vec3& p) const;
  // This pose after `first`.
  [[nodiscard]] Pose After(const Pose& first) const;
};

[[nodiscard]] Mesh Transformed(const Mesh& mesh, const Pose& pose);

struct AlignOptions {
  bool allow_scale = false;
  int max_iterations = 60;
  double trim = 0.1;
  size_t max_samples = 10000;
  int threads = 2;
};

struct AlignResult {
  Pose pose;          // Maps the moving mesh onto the reference.
  double rms_mm = 0;  // Of the kept correspondences, last iteration.
  int iterations = 0;
  bool pose_determined = true;
  std::string note;  // Why the pose is not determined, if it is not.
};

// What Align would compute of its inputs first, when the caller has it
// already (each may be null): Measure(moving), Measure(reference) and
// VertexAreas(moving).
struct AlignInputs {
  const Measurements* moving = nullptr;
  const Measurements* reference = nullptr;
  const std::vector<double>* moving_areas = nullptr;
  // Starting poses to try instead of the principal axes' (e.g. from both
  // meshes' ring frames, geometry/identify.h): the best by RMS on a
  // subsample starts the ICP.
  const std::vector<Pose>* initial_poses = nullptr;
};

[[nodiscard]] AlignResult Align(const Mesh& moving, const Mesh& reference,
                                const MeshDistance& reference_distance,
                                const AlignOptions& options = {},
                                const AlignInputs& known = {});

}  // namespace loupe::geometry
