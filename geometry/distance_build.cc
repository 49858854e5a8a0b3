// MeshDistance's construction: face normals, the pseudonormals' corner
// lists, the grid and the hierarchy. The queries are in distance.cc.
#include <algorithm>
#include <cmath>
#include <limits>
#include <thread>

#include "geometry/distance.h"
#include "geometry/float_bounds.h"
#include "geometry/radix_sort.h"
#include "geometry/topology.h"

namespace loupe::geometry {
namespace {

constexpr uint32_t kLeafSize = 4;

// Spreads the low 21 bits of v three apart (for a Morton code).
uint64_t Spread(uint64_t v) {
  v &= 0x1fffff;
  v = (v | v << 32) & 0x1f00000000ffffull;
  v = (v | v << 16) & 0x1f0000ff0000ffull;
  v = (v | v << 8) & 0x100f00f00f00f00full;
  v = (v | v << 4) & 0x10c30c30c30c30c3ull;
  v = (v | v << 2) & 0x1249249249249249ull;
  return v;
}

}  // namespace

MeshDistance::MeshDistance(const Mesh& mesh, bool signs)
    : signs_(signs), vertices_(mesh.vertices), triangles_(mesh.triangles) {
  const size_t n = triangles_.size();
  // The normals beside the hierarchy and the grid.
  auto compute_normals = [this, &mesh, n, signs] {
    face_normals_.resize(n);
    for (uint32_t t = 0; t < n; ++t) {
      face_normals_[t] =
          Normalized(Cross(mesh.Corner(t, 1) - mesh.Corner(t, 0),
                           mesh.Corner(t, 2) - mesh.Corner(t, 0)));
    }
    if (signs) ComputePseudonormals(mesh);
  };
  std::thread normals;
  if (n >= 4096) {
    normals = std::thread(compute_normals);
  } else {
    compute_normals();
  }
  // The grid beside everything else, from the start: triangles listed in
  // file order (mostly surface order too), not waiting for the Morton sort.
  std::thread grid;
  auto build_grid = [this, n] {
    std::vector<uint32_t> order(n);
    for (uint32_t t = 0; t < n; ++t) order[t] = t;
    grid_ = TriangleGrid(vertices_, triangles_, order);
  };
  if (n >= 4096) {
    grid = std::thread(build_grid);
  } else {
    build_grid();
  }
  // Triangles in Morton order of their centroids (10 bits an axis); the
  // hierarchy halves that order recursively, so building is one radix
  // sort and one pass.
  constexpr double kInf = std::numeric_limits<double>::infinity();
  Vec3 lo{kInf, kInf, kInf}, hi{-kInf, -kInf, -kInf};
  for (const auto& v : vertices_) {
    lo = Min(lo, v);
    hi = Max(hi, v);
  }
  const Vec3 extent = hi - lo;
  const double size = std::max({extent.x, extent.y, extent.z, 1e-12});
  constexpr int kBits = 10;
  std::vector<uint64_t> keyed(n);
  for (uint32_t t = 0; t < n; ++t) {
    const Vec3 c =
        (mesh.Corner(t, 0) + mesh.Corner(t, 1) + mesh.Corner(t, 2)) / 3;
    const Vec3 u = (c - lo) / size * ((1 << kBits) - 1);
    const uint64_t code = Spread(static_cast<uint64_t>(u.x)) |
                          Spread(static_cast<uint64_t>(u.y)) << 1 |
                          Spread(static_cast<uint64_t>(u.z)) << 2;
    keyed[t] = code << 32 | t;
  }
  RadixSort(&keyed, 32, 32 + 3 * kBits);
  order_.resize(n);
  std::vector<uint64_t> codes(n);
  for (uint32_t i = 0; i < n; ++i) {
    order_[i] = static_cast<uint32_t>(keyed[i]);
    codes[i] = keyed[i] >> 32;
  }
  nodes_.reserve(2 * n / kLeafSize + 2);
  nodes_.emplace_back();
  if (n > 0) Build(0, static_cast<uint32_t>(n), codes);
  if (grid.joinable()) grid.join();
  if (normals.joinable()) normals.join();
}

void MeshDistance::ComputePseudonormals(const Mesh& mesh) {
  const size_t n = triangles_.size();
  neighbours_.assign(n, {kNoNeighbour, kNoNeighbour, kNoNeighbour});
  // Each vertex's corners, in triangle order (a counting sort).
  corners_start_.assign(vertices_.size() + 1, 0);
  for (const Triangle& t : triangles_) {
    for (uint32_t v : t) ++corners_start_[v + 1];
  }
  for (size_t v = 0; v < vertices_.size(); ++v) {
    corners_start_[v + 1] += corners_start_[v];
  }
  corners_.resize(corners_start_.back());
  {
    std::vector<uint32_t> fill(corners_start_.begin(),
                               corners_start_.end() - 1);
    for (uint32_t t = 0; t < n; ++t) {
      for (uint32_t k = 0; k < 3; ++k) {
        corners_[fill[triangles_[t][k]]++] = 3 * t + k;
      }
    }
  }
  const EdgeSides edges = GroupSidesByEdge(mesh);
  for (size_t e = 0; e < edges.edge_count(); ++e) {
    const uint32_t first = edges.starts[e], end = edges.starts[e + 1];
    if (end - first == 2) {
      const uint32_t a = edges.sides[first], b = edges.sides[first + 1];
      neighbours_[a / 3][a % 3] = b / 3;
      neighbours_[b / 3][b % 3] = a / 3;
    } else if (end - first > 2) {
      Vec3 sum;
      for (uint32_t i = first; i < end; ++i) {
        sum += face_normals_[edges.sides[i] / 3];
      }
      for (uint32_t i = first; i < end; ++i) {
        shared_edge_normals_[edges.sides[i]] = sum;
      }
    }
  }
}

uint32_t MeshDistance::Build(uint32_t begin, uint32_t end,
                             const std::vector<uint64_t>& codes) {
  // Builds the node at the index reserved by the caller: the last one.
  // Bounds come bottom-up: a leaf's from its triangles, a parent's from its
  // children.
  const uint32_t index = static_cast<uint32_t>(nodes_.size() - 1);
  if (end - begin <= kLeafSize) {
    constexpr double kInf = std::numeric_limits<double>::infinity();
    Vec3 lo{kInf, kInf, kInf}, hi{-kInf, -kInf, -kInf};
    for (uint32_t i = begin; i < end; ++i) {
      for (int k = 0; k < 3; ++k) {
        lo = Min(lo, vertices_[triangles_[order_[i]][k]]);
        hi = Max(hi, vertices_[triangles_[order_[i]][k]]);
      }
    }
    nodes_[index] = {{FloatDown(lo.x), FloatDown(lo.y), FloatDown(lo.z)},
                     {FloatUp(hi.x), FloatUp(hi.y), FloatUp(hi.z)},
                     begin,
                     end - begin};
    return index;
  }
  // Split where the highest bit in which the codes differ flips (as in a
  // linear BVH), so each child covers a cell of the Morton grid; codes
  // that are all equal split in the middle.
  uint32_t mid = begin + (end - begin) / 2;
  const uint64_t first = codes[begin], last = codes[end - 1];
  if (first != last) {
    const int bit = 63 - std::countl_zero(first ^ last);
    const uint64_t high = (first >> bit | 1) << bit;
    mid = static_cast<uint32_t>(
        std::lower_bound(codes.begin() + begin, codes.begin() + end, high) -
        codes.begin());
  }
  nodes_.emplace_back();
  const uint32_t left = Build(begin, mid, codes);  // index + 1
  nodes_.emplace_back();
  const uint32_t right = Build(mid, end, codes);
  Node& node = nodes_[index];
  for (int k = 0; k < 3; ++k) {
    node.lo[k] = std::min(nodes_[left].lo[k], nodes_[right].lo[k]);
    node.hi[k] = std::max(nodes_[left].hi[k], nodes_[right].hi[k]);
  }
  node.first = right;
  node.count = 0;
  return index;
}

}  // namespace loupe::geometry
