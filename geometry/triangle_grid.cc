#include "geometry/triangle_grid.h"

#include <algorithm>
#include <limits>

#include "geometry/float_bounds.h"

namespace loupe::geometry {
namespace {

// Cell size in sides of a square of twice the mean triangle's area (about
// an edge for well-shaped triangles, less for long thin ones, whose boxes
// would otherwise crowd each cell).
constexpr double kCellsPerSide = 3.0;
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
  double twice_area = 0;
  for (const Triangle& t : triangles) {
    const Vec3 &a = vertices[t[0]], &b = vertices[t[1]], &c = vertices[t[2]];
    twice_area += Norm(Cross(b - a, c - a));
  }
  const double extent = std::max({hi.x - lo.x, hi.y - lo.y, hi.z - lo.z});
  origin_[0] = lo.x;
  origin_[1] = lo.y;
  origin_[2] = lo.z;
  // At least 2^20 cells across, whatever the triangles.
  double cell =
      std::max(kCellsPerSide * std::sqrt(twice_area / triangles.size()),
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
  // Number the cells in the order met, through a table grown to stay at
  // most half full (a slot's `begin` holds its cell's number until the
  // blocks are laid out); each entry's cell number is kept.
  slots_.assign(1024, Slot{});
  shift_ = 64 - 10;
  std::vector<uint32_t> entries_in;  // By cell number.
  std::vector<uint32_t> cell_of_entry;
  cell_of_entry.reserve(total);
  // Triangles come in spatial order: most look up the cell just used.
  uint64_t last_key = kEmpty;
  uint32_t last_cell = 0;
  auto number = [&](uint64_t key) -> uint32_t {
    if (key == last_key) return last_cell;
    for (size_t i = Home(key);; i = (i + 1) & (slots_.size() - 1)) {
      if (slots_[i].key == key) {
        last_cell = slots_[i].begin;
        break;
      }
      if (slots_[i].key == kEmpty) {
        slots_[i] = {key, static_cast<uint32_t>(entries_in.size()), 0};
        last_cell = slots_[i].begin;
        entries_in.push_back(0);
        if (2 * entries_in.size() > slots_.size()) Grow();
        break;
      }
    }
    last_key = key;
    return last_cell;
  };
  for (const Range& r : ranges) {
    for_each_cell(r, [&](uint64_t key) {
      const uint32_t c = number(key);
      ++entries_in[c];
      cell_of_entry.push_back(c);
    });
  }
  // Each cell's triangles in whole blocks of four, cells in the order the
  // triangles met them (neighbours near each other in memory).
  std::vector<uint32_t> first_block(entries_in.size()),
      filled(entries_in.size(), 0);
  uint32_t begin = 0;
  for (size_t c = 0; c < entries_in.size(); ++c) {
    first_block[c] = begin;
    begin += (entries_in[c] + 3) / 4;
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
  size_t entry = 0;
  for (size_t j = 0; j < order.size(); ++j) {
    const Range& r = ranges[j];
    size_t cells = 1;
    for (int k = 0; k < 3; ++k) cells *= r.cell_hi[k] - r.cell_lo[k] + 1;
    for (const size_t end = entry + cells; entry < end; ++entry) {
      const uint32_t c = cell_of_entry[entry];
      Block& block = blocks_[first_block[c] + filled[c] / 4];
      const uint32_t lane = filled[c]++ % 4;
      for (int k = 0; k < 3; ++k) {
        block.lo[k][lane] = r.lo[k];
        block.hi[k][lane] = r.hi[k];
      }
      block.triangle[lane] = order[j];
    }
  }
  for (Slot& s : slots_) {
    if (s.key == kEmpty) continue;
    const uint32_t c = s.begin;
    s.begin = first_block[c];
    s.count = (entries_in[c] + 3) / 4;
  }
  return true;
}

void TriangleGrid::Grow() {
  std::vector<Slot> old;
  old.swap(slots_);
  slots_.assign(old.size() * 2, Slot{});
  --shift_;
  for (const Slot& s : old) {
    if (s.key == kEmpty) continue;
    size_t i = Home(s.key);
    while (slots_[i].key != kEmpty) i = (i + 1) & (slots_.size() - 1);
    slots_[i] = s;
  }
}

}  // namespace loupe::geometry
