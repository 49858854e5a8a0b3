#include "geometry/triangle_grid.h"

#include <algorithm>
#include <limits>

#include "geometry/float_bounds.h"

namespace loupe::geometry {
namespace {

constexpr double kCellsPerEdge = 3.0;  // Cell size in mean edge lengths.
constexpr size_t kMaxEntriesPerTriangle = 6;

struct Box {
  Vec3 lo, hi;
};

Box BoxOf(const std::vector<Vec3>& vertices, const Triangle& t) {
  const Vec3 &a = vertices[t[0]], &b = vertices[t[1]], &c = vertices[t[2]];
  return {{std::min({a.x, b.x, c.x}), std::min({a.y, b.y, c.y}),
           std::min({a.z, b.z, c.z})},
          {std::max({a.x, b.x, c.x}), std::max({a.y, b.y, c.y}),
           std::max({a.z, b.z, c.z})}};
}

}  // namespace

TriangleGrid::TriangleGrid(const std::vector<Vec3>& vertices,
                           const std::vector<Triangle>& triangles,
                           const std::vector<uint32_t>& order) {
  if (triangles.empty()) return;
  constexpr double kInf = std::numeric_limits<double>::infinity();
  Vec3 lo{kInf, kInf, kInf}, hi{-kInf, -kInf, -kInf};
  for (const Vec3& v : vertices) {
    lo = {std::min(lo.x, v.x), std::min(lo.y, v.y), std::min(lo.z, v.z)};
    hi = {std::max(hi.x, v.x), std::max(hi.y, v.y), std::max(hi.z, v.z)};
  }
  double edges = 0;
  for (const Triangle& t : triangles) {
    const Vec3 &a = vertices[t[0]], &b = vertices[t[1]], &c = vertices[t[2]];
    edges += Norm(b - a) + Norm(c - b) + Norm(a - c);
  }
  const double extent = std::max({hi.x - lo.x, hi.y - lo.y, hi.z - lo.z});
  origin_[0] = lo.x;
  origin_[1] = lo.y;
  origin_[2] = lo.z;
  // At least 2^20 cells across, whatever the triangles.
  double cell = std::max(kCellsPerEdge * edges / (3.0 * triangles.size()),
                         extent / double(kAxisCells / 2));
  if (!(cell > 0) || !std::isfinite(cell)) return;
  for (int attempt = 0; attempt < 4; ++attempt, cell *= 2) {
    if (Fill(vertices, triangles, order, cell)) return;
  }
  slots_.clear();
  blocks_.clear();
}

bool TriangleGrid::Fill(const std::vector<Vec3>& vertices,
                        const std::vector<Triangle>& triangles,
                        const std::vector<uint32_t>& order, double cell) {
  inverse_ = 1 / cell;
  // Each triangle's bounds and cells, once, in `order`.
  struct Range {
    float lo[3], hi[3];
    int32_t cell_lo[3], cell_hi[3];
  };
  std::vector<Range> ranges(order.size());
  size_t total = 0;
  const size_t limit = std::min<size_t>(kMaxEntriesPerTriangle * order.size(),
                                        std::numeric_limits<uint32_t>::max());
  for (size_t j = 0; j < order.size(); ++j) {
    const Box b = BoxOf(vertices, triangles[order[j]]);
    Range& r = ranges[j];
    const double lo[3] = {b.lo.x, b.lo.y, b.lo.z};
    const double hi[3] = {b.hi.x, b.hi.y, b.hi.z};
    size_t cells = 1;
    for (int k = 0; k < 3; ++k) {
      r.lo[k] = FloatDown(lo[k]);
      r.hi[k] = FloatUp(hi[k]);
      r.cell_lo[k] = static_cast<int32_t>(CellOf(lo[k], k));
      r.cell_hi[k] = static_cast<int32_t>(CellOf(hi[k], k));
      cells *= r.cell_hi[k] - r.cell_lo[k] + 1;
    }
    total += cells;
    if (total > limit) return false;
  }
  auto for_each_cell = [](const Range& r, auto&& f) {
    for (int64_t x = r.cell_lo[0]; x <= r.cell_hi[0]; ++x) {
      for (int64_t y = r.cell_lo[1]; y <= r.cell_hi[1]; ++y) {
        for (int64_t z = r.cell_lo[2]; z <= r.cell_hi[2]; ++z) {
          f(Key(x, y, z));
        }
      }
    }
  };
  // Count the entries per cell in a table grown to stay at most half full.
  slots_.assign(1024, Slot{});
  shift_ = 64 - 10;
  size_t used = 0;
  std::vector<uint64_t> first_seen;  // Cells in the order met.
  // Triangles come in spatial order: most look up the cell just used.
  uint64_t last_key = kEmpty;
  size_t last_slot = 0;
  auto slot_for = [&](uint64_t key) -> Slot& {
    if (key == last_key) return slots_[last_slot];
    for (size_t i = Home(key);; i = (i + 1) & (slots_.size() - 1)) {
      last_key = key;
      last_slot = i;
      if (slots_[i].key == key) return slots_[i];
      if (slots_[i].key == kEmpty) {
        slots_[i].key = key;
        ++used;
        first_seen.push_back(key);
        return slots_[i];
      }
    }
  };
  for (const Range& r : ranges) {
    for_each_cell(r, [&](uint64_t key) {
      ++slot_for(key).count;
      if (2 * used <= slots_.size()) return;
      std::vector<Slot> old;
      old.swap(slots_);
      last_key = kEmpty;
      slots_.assign(old.size() * 2, Slot{});
      --shift_;
      used = 0;
      const size_t seen = first_seen.size();
      for (const Slot& s : old) {
        if (s.key != kEmpty) slot_for(s.key).count = s.count;
      }
      first_seen.resize(seen);
    });
  }
  // Each cell's triangles in whole blocks of four, cells in the order the
  // triangles met them (neighbours near each other in memory).
  uint32_t begin = 0;
  for (uint64_t key : first_seen) {
    Slot& s = slot_for(key);
    s.begin = begin;
    begin += (s.count + 3) / 4;
    s.count = 0;
  }
  Block empty;
  for (int k = 0; k < 3; ++k) {
    for (int j = 0; j < 4; ++j) {
      empty.lo[k][j] = INFINITY;
      empty.hi[k][j] = -INFINITY;
      empty.triangle[j] = 0;
    }
  }
  blocks_.assign(begin, empty);
  last_key = kEmpty;
  for (size_t j = 0; j < order.size(); ++j) {
    const Range& r = ranges[j];
    for_each_cell(r, [&](uint64_t key) {
      Slot& s = slot_for(key);
      Block& block = blocks_[s.begin + s.count / 4];
      const uint32_t lane = s.count++ % 4;
      for (int k = 0; k < 3; ++k) {
        block.lo[k][lane] = r.lo[k];
        block.hi[k][lane] = r.hi[k];
      }
      block.triangle[lane] = order[j];
    });
  }
  // From entries to blocks.
  for (Slot& s : slots_) s.count = (s.count + 3) / 4;
  return true;
}

}  // namespace loupe::geometry
