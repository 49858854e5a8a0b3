#include "geometry/distance.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

#include "geometry/float_bounds.h"

namespace loupe::geometry {
namespace {

// A near query looks in at most this many grid cells, else in the tree.
constexpr int kMaxGridCells = 8;

// Squared distance from p (as floats) to a box; boxes are rounded
// outwards, so this never exceeds the true distance to what is inside.
inline float BoxDistance2(const float (&p)[3], const float (&lo)[3],
                          const float (&hi)[3]) {
  float d2 = 0;
  for (int k = 0; k < 3; ++k) {
    const float d = std::max(std::max(lo[k] - p[k], p[k] - hi[k]), 0.0f);
    d2 += d * d;
  }
  return d2;
}

double Angle(const Vec3& a, const Vec3& b) {
  return std::atan2(Norm(Cross(a, b)), Dot(a, b));
}

}  // namespace

Vec3 MeshDistance::Pseudonormal(uint32_t t, Feature f) const {
  switch (f) {
    case Feature::kFace:
      return face_normals_[t];
    case Feature::kEdge0:
    case Feature::kEdge1:
    case Feature::kEdge2: {
      // The sum of the normals of the faces at the edge: two on a
      // manifold edge, one on a boundary.
      const int side = static_cast<int>(f) - 1;
      const uint32_t across = neighbours_[t][side];
      if (across != kNoNeighbour)
        return face_normals_[t] + face_normals_[across];
      const auto shared = shared_edge_normals_.find(3 * t + side);
      return shared == shared_edge_normals_.end() ? face_normals_[t]
                                                  : shared->second;
    }
    default:
      return VertexPseudonormal(triangles_[t][static_cast<int>(f) - 4]);
  }
}

Vec3 MeshDistance::VertexPseudonormal(uint32_t v) const {
  // The faces' normals at the vertex, each weighted by its angle there.
  Vec3 sum;
  for (uint32_t i = corners_start_[v]; i < corners_start_[v + 1]; ++i) {
    const uint32_t t = corners_[i] / 3, k = corners_[i] % 3;
    const Vec3& p = vertices_[triangles_[t][k]];
    const double angle = Angle(vertices_[triangles_[t][(k + 1) % 3]] - p,
                               vertices_[triangles_[t][(k + 2) % 3]] - p);
    sum += face_normals_[t] * angle;
  }
  return sum;
}

namespace {

// Ericson, Real-Time Collision Detection, 5.1.5, with the feature reached.
template <typename Feature>
Vec3 ClosestOnTriangle(const Vec3& p, const Vec3& a, const Vec3& b,
                       const Vec3& c, Feature* feature) {
  const Vec3 ab = b - a, ac = c - a, ap = p - a;
  const double d1 = Dot(ab, ap), d2 = Dot(ac, ap);
  // Most queries end inside a face: that case first, in one branch.
  {
    const Vec3 bp = p - b, cp = p - c;
    const double d3 = Dot(ab, bp), d4 = Dot(ac, bp);
    const double d5 = Dot(ab, cp), d6 = Dot(ac, cp);
    const double va = d3 * d6 - d5 * d4, vb = d5 * d2 - d1 * d6,
                 vc = d1 * d4 - d3 * d2;
    if (va > 0 && vb > 0 && vc > 0) {
      const double denom = 1 / (va + vb + vc);
      *feature = Feature::kFace;
      return a + ab * (vb * denom) + ac * (vc * denom);
    }
  }
  if (d1 <= 0 && d2 <= 0) {
    *feature = Feature::kV0;
    return a;
  }
  const Vec3 bp = p - b;
  const double d3 = Dot(ab, bp), d4 = Dot(ac, bp);
  if (d3 >= 0 && d4 <= d3) {
    *feature = Feature::kV1;
    return b;
  }
  const double vc = d1 * d4 - d3 * d2;
  if (vc <= 0 && d1 >= 0 && d3 <= 0) {
    *feature = Feature::kEdge0;
    return a + ab * (d1 / (d1 - d3));
  }
  const Vec3 cp = p - c;
  const double d5 = Dot(ab, cp), d6 = Dot(ac, cp);
  if (d6 >= 0 && d5 <= d6) {
    *feature = Feature::kV2;
    return c;
  }
  const double vb = d5 * d2 - d1 * d6;
  if (vb <= 0 && d2 >= 0 && d6 <= 0) {
    *feature = Feature::kEdge2;
    return a + ac * (d2 / (d2 - d6));
  }
  const double va = d3 * d6 - d5 * d4;
  if (va <= 0 && (d4 - d3) >= 0 && (d5 - d6) >= 0) {
    *feature = Feature::kEdge1;
    return b + (c - b) * ((d4 - d3) / ((d4 - d3) + (d5 - d6)));
  }
  const double denom = 1 / (va + vb + vc);
  *feature = Feature::kFace;
  return a + ab * (vb * denom) + ac * (vc * denom);
}

}  // namespace

bool MeshDistance::ClosestWithin(const Vec3& p, double max_distance,
                                 ClosestPoint* out) const {
  if (triangles_.empty()) return false;
  // Near the surface the grid has a first guess.
  if (const uint32_t t = grid_.AnyTriangleAt(p); t != TriangleGrid::kNone) {
    *out = ClosestNear(p, t);
    return out->distance <= max_distance;
  }
  return Search(p, max_distance * max_distance, false, Feature::kFace, out);
}

bool MeshDistance::Walk(const Vec3& p, uint32_t hint, ClosestPoint* out,
                        double* best2, Feature* feature, Tested* tested) const {
  if (tested != nullptr) tested->Add(hint);
  out->triangle = hint;
  out->point = ClosestOnTriangle(p, vertices_[triangles_[hint][0]],
                                 vertices_[triangles_[hint][1]],
                                 vertices_[triangles_[hint][2]], feature);
  const Vec3 d = p - out->point;
  *best2 = Dot(d, d);
  // Across the edge or corner the answer lies on, while a neighbour is
  // nearer.
  for (int step = 0; step < 8; ++step) {
    if (*feature == Feature::kFace) return true;
    if (neighbours_.empty()) return false;
    // Sides at the feature: edge k is side k; corner k joins sides k and
    // k + 2 (mod 3).
    const int f = static_cast<int>(*feature);
    const int sides[2] = {f <= 3 ? f - 1 : f - 4, f <= 3 ? -1 : (f - 2) % 3};
    bool moved = false;
    for (int side : sides) {
      if (side < 0) continue;
      const uint32_t next = neighbours_[out->triangle][side];
      if (next == kNoNeighbour) continue;
      if (tested != nullptr) tested->Add(next);
      Feature next_feature;
      const Vec3 q = ClosestOnTriangle(
          p, vertices_[triangles_[next][0]], vertices_[triangles_[next][1]],
          vertices_[triangles_[next][2]], &next_feature);
      const Vec3 dq = p - q;
      if (Dot(dq, dq) < *best2) {
        *best2 = Dot(dq, dq);
        out->point = q;
        out->triangle = next;
        *feature = next_feature;
        moved = true;
        break;
      }
    }
    if (!moved) return true;
  }
  return false;
}

ClosestPoint MeshDistance::ClosestByWalking(const Vec3& p,
                                            uint32_t hint) const {
  ClosestPoint out;
  if (triangles_.empty()) return out;
  double best2;
  Feature feature;
  if (!Walk(p, hint, &out, &best2, &feature, nullptr)) {
    return ClosestNear(p, hint);
  }
  out.distance = out.signed_distance = std::sqrt(best2);
  return out;
}

ClosestPoint MeshDistance::ClosestNear(const Vec3& p, uint32_t hint) const {
  ClosestPoint out;
  if (triangles_.empty()) return out;
  // A near first candidate: then the grid search below has a small box.
  double best2;
  Feature feature;
  Tested tested;
  (void)Walk(p, hint, &out, &best2, &feature, &tested);
  // Every triangle nearer than the hint has a point in the box of that
  // radius about p, so it is listed in a cell the box overlaps.
  const double margin =
      (std::max({std::abs(p.x), std::abs(p.y), std::abs(p.z)}) + 1) * 1e-6;
  double r = std::sqrt(best2) + margin;
  // The centre rounded to float moves by less than the margin; the empty
  // boxes of unused lanes are infinitely far.
  TriangleGrid::FloatBall ball = {
      {static_cast<float>(p.x), static_cast<float>(p.y),
       static_cast<float>(p.z)},
      0};
  auto set_ball = [&] { ball.radius2 = FloatUp(r * r * (1 + 1e-6)); };
  set_ball();
  const Vec3 reach{r, r, r};
  const bool near = grid_.ForEachNear(
      p - reach, p + reach, kMaxGridCells, &ball, [&](uint32_t t) {
        const Triangle& tri = triangles_[t];
        // No point of the triangle is nearer than its plane (the factor
        // keeps near ties for the exact test).
        const double h = Dot(p - vertices_[tri[0]], face_normals_[t]);
        if (h * h > best2 * (1 + 1e-9) || tested.Has(t)) return;
        Feature f;
        const Vec3 q = ClosestOnTriangle(
            p, vertices_[tri[0]], vertices_[tri[1]], vertices_[tri[2]], &f);
        const Vec3 dq = p - q;
        const double d2 = Dot(dq, dq);
        if (d2 < best2) {
          best2 = d2;
          feature = f;
          out.point = q;
          out.triangle = t;
          r = std::sqrt(best2) + margin;
          set_ball();
        }
      });
  if (near) {
    Finish(p, best2, feature, &out);
  } else {
    (void)Search(p, best2, true, feature, &out);
  }
  return out;
}

bool MeshDistance::Search(const Vec3& p, double best2, bool found,
                          Feature best_feature, ClosestPoint* out) const {
  const float pf[3] = {static_cast<float>(p.x), static_cast<float>(p.y),
                       static_cast<float>(p.z)};
  // p rounded to float can seem up to a few ulps further from a box than
  // it is: a margin of 1e-6 of its size (16 ulps) keeps every box that
  // might hold a closer triangle.
  const double margin =
      (std::max({std::abs(p.x), std::abs(p.y), std::abs(p.z)}) + 1) * 1e-6;
  auto bound = [margin](double d2) {
    const double b = std::sqrt(d2) + margin;
    return b * b;
  };
  double bound2 = bound(best2);
  auto prune = [&](float box2) { return box2 > bound2; };
  struct Entry {
    uint32_t node;
    float box2;
  };
  Entry stack[128];
  int top = 0;
  stack[top++] = {0, BoxDistance2(pf, nodes_[0].lo, nodes_[0].hi)};
  while (top > 0) {
    const Entry entry = stack[--top];
    if (prune(entry.box2)) continue;
    const Node& node = nodes_[entry.node];
    if (node.count > 0) {
      for (uint32_t i = node.first; i < node.first + node.count; ++i) {
        const uint32_t t = order_[i];
        Feature feature;
        const Vec3 q = ClosestOnTriangle(p, vertices_[triangles_[t][0]],
                                         vertices_[triangles_[t][1]],
                                         vertices_[triangles_[t][2]], &feature);
        const Vec3 d = p - q;
        const double d2 = Dot(d, d);
        if (d2 < best2 || (!found && d2 <= best2)) {
          best2 = d2;
          bound2 = bound(d2);
          found = true;
          best_feature = feature;
          out->point = q;
          out->triangle = t;
        }
      }
      continue;
    }
    const uint32_t left = entry.node + 1, right = node.first;
    const float dl = BoxDistance2(pf, nodes_[left].lo, nodes_[left].hi);
    const float dr = BoxDistance2(pf, nodes_[right].lo, nodes_[right].hi);
    // Visit the nearer child first (pushed last).
    if (dl < dr) {
      if (!prune(dr)) stack[top++] = {right, dr};
      if (!prune(dl)) stack[top++] = {left, dl};
    } else {
      if (!prune(dl)) stack[top++] = {left, dl};
      if (!prune(dr)) stack[top++] = {right, dr};
    }
  }
  if (!found) return false;
  Finish(p, best2, best_feature, out);
  return true;
}

void MeshDistance::Finish(const Vec3& p, double best2, Feature feature,
                          ClosestPoint* out) const {
  out->distance = std::sqrt(best2);
  if (!signs_) {
    out->signed_distance = out->distance;
    return;
  }
  const double side = Dot(p - out->point, Pseudonormal(out->triangle, feature));
  out->signed_distance = side < 0 ? -out->distance : out->distance;
}

ClosestPoint MeshDistance::Closest(const Vec3& p) const {
  // Near the surface the grid has a first guess.
  if (const uint32_t t = grid_.AnyTriangleAt(p); t != TriangleGrid::kNone) {
    return ClosestNear(p, t);
  }
  ClosestPoint out;
  (void)ClosestWithin(p, std::numeric_limits<double>::infinity(), &out);
  return out;
}

}  // namespace loupe::geometry
