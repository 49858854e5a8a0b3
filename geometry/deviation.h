#pragma once

// Deviation between a mesh (a scan, a new CAD file) and a reference (the
// twin): exact signed distances of every vertex of one to the other's
// surface (geometry/distance.h), with area-weighted statistics (each vertex
// stands for a third of the area of its triangles).

#include <cstdint>
#include <vector>

#include "geometry/distance.h"
#include "geometry/mesh.h"

namespace loupe::geometry {

struct DeviationStats {
  uint64_t samples = 0;
  double mean_signed = 0;  // mm; > 0 extra material, < 0 missing
  double mean_abs = 0;
  double rms = 0;
  double max_abs = 0;
  double p95_abs = 0;
  double p99_abs = 0;
  double max_outside = 0;       // Largest positive distance.
  double max_inside = 0;        // Most negative distance.
  double within_tolerance = 0;  // Share of area with |d| <= tolerance.
  Vec3 worst_point;             // Where |d| is largest.
};

struct Deviation {
  std::vector<double> per_vertex;  // Signed, mm, one per vertex of `mesh`.
  // The reference's triangle nearest each vertex of `mesh`.
  std::vector<uint32_t> closest_triangle;
  DeviationStats stats;
};

// Vertex areas: a third of the area of each triangle a vertex is in.
[[nodiscard]] std::vector<double> VertexAreas(const Mesh& mesh);

// Signed distances of `mesh`'s vertices to `reference` (positive outside
// the reference), and their statistics at `tolerance_mm`. Unreferenced
// vertices have no area and do not count. Uses `threads` threads.
// `areas`, if given, are VertexAreas(mesh).
[[nodiscard]] Deviation MeasureDeviation(
    const Mesh& mesh, const MeshDistance& reference, double tolerance_mm,
    int threads = 1, const std::vector<double>* areas = nullptr);

// The share of `reference`'s area (vertex areas) within `radius_mm` of
// `mesh`'s surface, exactly, given `mesh_to_reference` =
// MeasureDeviation(mesh, reference...): a reference vertex is within reach
// when a vertex of `mesh` whose nearest reference triangle it is a corner
// of lies within the radius of it (the surface is at least that close);
// only the vertices this leaves open (a region the scan missed, or a
// reference much coarser than the mesh) are searched for in `mesh`.
// `reference_areas`, if given, are VertexAreas(reference).
[[nodiscard]] double Coverage(
    const Mesh& reference, const Mesh& mesh, const Deviation& mesh_to_reference,
    double radius_mm, int threads = 1,
    const std::vector<double>* reference_areas = nullptr);

// The area-weighted quantiles `q` (each in [0, 1]) of `values`, exactly:
// the smallest value v such that the weights of values <= v reach q of
// the total. Values with zero weight are ignored; 0 if none has weight.
[[nodiscard]] std::vector<double> WeightedQuantiles(
    const std::vector<double>& values, const std::vector<double>& weights,
    const std::vector<double>& q);

}  // namespace loupe::geometry
