#pragma once

// Whole-mesh measurements: volume, surface area, bounding box, centre of
// mass and the solid's principal axes, by exact integration over the
// triangles (divergence theorem; tetrahedra from the origin). Meaningful for
// watertight, consistently oriented meshes (CheckMesh); an inside-out mesh
// gives a negative signed volume, reported as such.

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "geometry/mesh.h"

namespace loupe::geometry {

struct Measurements {
  double signed_volume_mm3 = 0;
  double volume_mm3 = 0;  // |signed volume|
  double area_mm2 = 0;
  Vec3 bbox_min, bbox_max;
  Vec3 center_of_mass;
  // Unit principal axes of the solid: the eigenvectors of its covariance
  // about the centre of mass, by increasing variance (mm^2): axis 0 is the
  // direction along which the material spreads least.
  std::array<Vec3, 3> principal_axes;
  std::array<double, 3> principal_moments{};
  // Set when the size suggests the file is not in millimetres.
  std::optional<std::string> unit_warning;
};

// With `vertex_areas`, also fills in VertexAreas(mesh) (geometry/deviation.h)
// in the same pass.
[[nodiscard]] Measurements Measure(const Mesh& mesh,
                                   std::vector<double>* vertex_areas = nullptr);

// Eigenvalues (increasing) and unit eigenvectors of a symmetric 3x3 matrix
// (Jacobi rotations).
void SymmetricEigen(const std::array<std::array<double, 3>, 3>& m,
                    std::array<double, 3>* values,
                    std::array<Vec3, 3>* vectors);

}  // namespace loupe::geometry
