#pragma once

// A deviation heat map a person can open (MeshLab, Blender, CloudCompare):
// binary PLY of the mesh with a colour and the signed distance per vertex.
// Colours: green within the tolerance, to red at +3 x tolerance (extra
// material) and blue at -3 x tolerance (missing material).

#include <string>
#include <vector>

#include "geometry/mesh.h"

namespace loupe::geometry {

[[nodiscard]] std::string HeatmapPly(const Mesh& mesh,
                                     const std::vector<double>& distances,
                                     double tolerance_mm);

}  // namespace loupe::geometry
