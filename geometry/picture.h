#pragma once

// A picture of a deviation heat map, as PNG: the mesh seen from three
// sides (along -z, -y and -x of the twin's frame; orthographic, flat
// shaded, coloured as in heatmap.h), a colour scale from -3 to +3 x
// tolerance with ticks at -tolerance, 0 and +tolerance, and an
// area-weighted histogram of the distances on the same scale.

#include <string>
#include <vector>

#include "geometry/mesh.h"

namespace loupe::geometry {

[[nodiscard]] std::string HeatmapPng(const Mesh& mesh,
                                     const std::vector<double>& distances,
                                     double tolerance_mm);

}  // namespace loupe::geometry
