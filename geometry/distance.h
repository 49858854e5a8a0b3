#pragma once

// Exact closest points on a triangle mesh through a bounding-volume
// hierarchy, and signed distances against a watertight, consistently
// oriented reference: the sign comes from the angle-weighted pseudonormal
// of the closest feature (face, edge or vertex; Baerentzen and Aanaes
// 2005), so it is right everywhere, not only over face interiors.
// Positive = outside the reference (extra material), negative = inside
// (missing material).
//
// Built once, then immutable: queries are thread-safe.

#include <array>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "geometry/mesh.h"
#include "geometry/triangle_grid.h"

namespace loupe::geometry {

struct ClosestPoint {
  Vec3 point;
  uint32_t triangle = 0;
  double distance = 0;  // Unsigned.
  double signed_distance = 0;
};

class MeshDistance {
 public:
  // Copies what it needs from `mesh`. Without `signs`, signed_distance is
  // the unsigned distance (and building is faster).
  explicit MeshDistance(const Mesh& mesh, bool signs = true);

  // The closest point of the mesh to `p` (the mesh must have a triangle).
  [[nodiscard]] ClosestPoint Closest(const Vec3& p) const;
  // As Closest, but gives up (returning false) when nothing is nearer than
  // `max_distance`: faster for trimmed correspondences.
  [[nodiscard]] bool ClosestWithin(const Vec3& p, double max_distance,
                                   ClosestPoint* out) const;
  // As Closest, starting from triangle `hint` (any valid index): much
  // faster when it is near the answer, e.g. the answer for the previous
  // point of a scan, whose points come in surface order. Then the few grid
  // cells within the hint's distance hold every triangle that can be
  // nearer (TriangleGrid); otherwise the hierarchy is searched.
  [[nodiscard]] ClosestPoint ClosestNear(const Vec3& p, uint32_t hint) const;
  // A local closest point, for correspondences that need not be exact
  // (ICP): from `hint`, across the edge or corner the answer lies on while
  // a neighbour there is nearer. From the triangle a point was matched to
  // before a small move that is mostly ClosestNear's answer; beside a
  // vertex or a concave edge it can stop at a point a little further (at
  // most by twice the move). Falls back to ClosestNear when the walk does
  // not settle within a few steps. Unsigned.
  [[nodiscard]] ClosestPoint ClosestByWalking(const Vec3& p,
                                              uint32_t hint) const;
  [[nodiscard]] size_t triangle_count() const { return triangles_.size(); }

  [[nodiscard]] const std::vector<Vec3>& face_normals() const {
    return face_normals_;
  }

 private:
  // 32 bytes: two to a cache line. Bounds in float, rounded outwards.
  struct Node {
    float lo[3], hi[3];
    uint32_t first = 0;  // Leaf: first triangle in order_; inner: the right
                         // child (the left one is the next node).
    uint32_t count = 0;  // Leaf: triangles; 0 for an inner node.
  };
  enum class Feature : uint8_t { kFace, kEdge0, kEdge1, kEdge2, kV0, kV1, kV2 };

  uint32_t Build(uint32_t begin, uint32_t end,
                 const std::vector<uint64_t>& codes);
  // The search, from a first candidate (`best2`, `found`, `out`, `feature`
  // already set when there is one).
  bool Search(const Vec3& p, double best2, bool found, Feature feature,
              ClosestPoint* out) const;
  // The triangles a walk measured (at most 1 + 8 x 2).
  struct Tested {
    uint32_t ids[17];
    int n = 0;
    void Add(uint32_t t) { ids[n++] = t; }
    [[nodiscard]] bool Has(uint32_t t) const {
      for (int i = 0; i < n; ++i) {
        if (ids[i] == t) return true;
      }
      return false;
    }
  };
  // From `hint` across edges while a neighbour is nearer: sets `out`'s
  // point and triangle, `best2` and `feature`, and adds each triangle
  // measured to `tested` (if given); false if it did not settle (no
  // neighbours known, or more than 8 steps).
  bool Walk(const Vec3& p, uint32_t hint, ClosestPoint* out, double* best2,
            Feature* feature, Tested* tested) const;
  // Fills in out's distances, `best2` away through `feature`.
  void Finish(const Vec3& p, double best2, Feature feature,
              ClosestPoint* out) const;
  Vec3 Pseudonormal(uint32_t t, Feature feature) const;
  // Angle-weighted, unnormalized.
  Vec3 VertexPseudonormal(uint32_t v) const;
  void ComputePseudonormals(const Mesh& mesh);

  bool signs_;
  std::vector<Vec3> vertices_;
  std::vector<Triangle> triangles_;
  std::vector<Vec3> face_normals_;  // Unit.
  // Each vertex's corners (3 x triangle + corner), from corners_start_[v]
  // to corners_start_[v + 1]: its pseudonormal is summed when asked for.
  std::vector<uint32_t> corners_start_, corners_;
  // Edge pseudonormals are summed when asked for, except at edges shared
  // by more than two faces: theirs, by side (3 x triangle + side).
  std::unordered_map<uint32_t, Vec3> shared_edge_normals_;
  // The triangle across each side (kNoNeighbour on a boundary or a
  // non-manifold edge); with the pseudonormals.
  static constexpr uint32_t kNoNeighbour = ~uint32_t{0};
  std::vector<std::array<uint32_t, 3>> neighbours_;
  std::vector<uint32_t> order_;
  std::vector<Node> nodes_;  // nodes_[0] is the root.
  TriangleGrid grid_;
};

}  // namespace loupe::geometry
