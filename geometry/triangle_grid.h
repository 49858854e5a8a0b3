#pragma once

// A spatial hash of a mesh's triangles by the cubic cells their bounding
// boxes overlap. For closest-point queries whose answer is already known
// to be near (a scan point next to the twin's surface, with the previous
// point's triangle as a first guess): the few cells a small query ball
// reaches list every triangle that can come closer than the guess, so the
// exact answer needs a handful of triangle tests and no descent from the
// root of a hierarchy (MeshDistance::ClosestNear).
//
// Built once, then immutable: lookups are thread-safe.

#include <bit>
#include <cmath>
#include <cstdint>
#include <memory>
#include <vector>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

#include "geometry/mesh.h"

namespace loupe::geometry {

class TriangleGrid {
 public:
  // A query's ball in float: its centre, and its squared radius rounded
  // up (callers add a margin for the centre's rounding); it may shrink as
  // nearer triangles are found.
  struct FloatBall {
    float center[3];
    float radius2;
  };

  // An empty grid: every lookup declines.
  TriangleGrid() = default;
  // Cells three times the side of a square of twice the mean triangle's
  // area (about three edges for well-shaped triangles), doubled while the
  // triangles' boxes would make more than six entries per triangle (a mesh
  // of very uneven triangles); empty if that does not settle. `order` is
  // the order triangles are listed in within a cell (a spatial order keeps
  // them close in memory). Large meshes are listed on two threads.
  TriangleGrid(const std::vector<Vec3>& vertices,
               const std::vector<Triangle>& triangles,
               const std::vector<uint32_t>& order);

  [[nodiscard]] bool empty() const { return slots_.empty(); }

  // A triangle listed in the cell holding `p` (a good first guess for a
  // search from `p`), or kNone when there is none.
  static constexpr uint32_t kNone = ~uint32_t{0};
  [[nodiscard]] uint32_t AnyTriangleAt(const Vec3& p) const {
    if (slots_.empty()) return kNone;
    const Slot* s = Find(Key(CellOf(p.x, 0), CellOf(p.y, 1), CellOf(p.z, 2)));
    return s == nullptr ? kNone : blocks_[s->begin].triangle[0];
  }

  // Calls `visit(triangle)` for every triangle listed in a cell that the
  // box [lo, hi] overlaps whose bounds meet `*ball` (which `visit` may
  // shrink; a triangle may come more than once) and returns true; returns
  // false, visiting nothing, when the grid is empty or [lo, hi] covers
  // more than `max_cells` cells.
  template <typename Visit>
  bool ForEachNear(const Vec3& lo, const Vec3& hi, int max_cells,
                   const FloatBall* ball, Visit&& visit) const;

 private:
  // Four triangles' bounds, tested at once; unused lanes hold an empty
  // box (lo = +inf, hi = -inf).
  struct alignas(16) Block {
    float lo[3][4], hi[3][4];
    uint32_t triangle[4];
  };
  struct Slot {
    uint64_t key = kEmpty;
    // While filling, `begin` numbers the cell; then its first block and
    // how many.
    uint32_t begin = 0, count = 0;
  };
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  static constexpr int kAxisBits = 21;
  static constexpr int64_t kAxisCells = int64_t{1} << kAxisBits;

  // Doubles the table of slots.
  void Grow();
  bool Fill(const std::vector<Vec3>& vertices,
            const std::vector<Triangle>& triangles,
            const std::vector<uint32_t>& order, double cell);
  // Clamped to the grid (and 0 for NaN); truncation is the floor above 0.
  int64_t CellOf(double v, int axis) const {
    const double c = (v - origin_[axis]) * inverse_;
    return !(c > 0) ? 0 : c >= kAxisCells ? kAxisCells - 1 : int64_t(c);
  }
  static uint64_t Key(int64_t x, int64_t y, int64_t z) {
    return uint64_t(x) << (2 * kAxisBits) | uint64_t(y) << kAxisBits |
           uint64_t(z);
  }
  size_t Home(uint64_t key) const {
    return (key * 0x9E3779B97F4A7C15ull) >> shift_;
  }
  const Slot* Find(uint64_t key) const {
    for (size_t i = Home(key);; i = (i + 1) & (slots_.size() - 1)) {
      const Slot& s = slots_[i];
      if (s.key == key) return &s;
      if (s.key == kEmpty) return nullptr;
    }
  }

  double origin_[3] = {0, 0, 0};
  double inverse_ = 0;  // Cells per millimetre.
  int shift_ = 64;
  std::vector<Slot> slots_;          // Open addressing, a power of two.
  std::unique_ptr<Block[]> blocks_;  // Each cell's run of them.
};

template <typename Visit>
bool TriangleGrid::ForEachNear(const Vec3& lo, const Vec3& hi, int max_cells,
                               const FloatBall* ball, Visit&& visit) const {
  if (slots_.empty()) return false;
  const int64_t x0 = CellOf(lo.x, 0), x1 = CellOf(hi.x, 0);
  const int64_t y0 = CellOf(lo.y, 1), y1 = CellOf(hi.y, 1);
  const int64_t z0 = CellOf(lo.z, 2), z1 = CellOf(hi.z, 2);
  if ((x1 - x0 + 1) * (y1 - y0 + 1) * (z1 - z0 + 1) > max_cells) return false;
  for (int64_t x = x0; x <= x1; ++x) {
    for (int64_t y = y0; y <= y1; ++y) {
      for (int64_t z = z0; z <= z1; ++z) {
        const Slot* s = Find(Key(x, y, z));
        if (s == nullptr) continue;
        for (uint32_t i = s->begin; i < s->begin + s->count; ++i) {
          const Block& b = blocks_[i];
#if defined(__SSE2__)
          // Squared distance from the centre to each box, four at once.
          __m128 d2 = _mm_setzero_ps();
          for (int k = 0; k < 3; ++k) {
            const __m128 c = _mm_set1_ps(ball->center[k]);
            const __m128 d =
                _mm_max_ps(_mm_max_ps(_mm_sub_ps(_mm_load_ps(b.lo[k]), c),
                                      _mm_sub_ps(c, _mm_load_ps(b.hi[k]))),
                           _mm_setzero_ps());
            d2 = _mm_add_ps(d2, _mm_mul_ps(d, d));
          }
          const __m128 in = _mm_cmple_ps(d2, _mm_set1_ps(ball->radius2));
          for (unsigned bits = _mm_movemask_ps(in); bits != 0;
               bits &= bits - 1) {
            visit(b.triangle[std::countr_zero(bits)]);
          }
#else
          for (int j = 0; j < 4; ++j) {
            float d2 = 0;
            for (int k = 0; k < 3; ++k) {
              const float d = std::max(std::max(b.lo[k][j] - ball->center[k],
                                                ball->center[k] - b.hi[k][j]),
                                       0.0f);
              d2 += d * d;
            }
            if (d2 <= ball->radius2) visit(b.triangle[j]);
          }
#endif
        }
      }
    }
  }
  return true;
}

}  // namespace loupe::geometry
