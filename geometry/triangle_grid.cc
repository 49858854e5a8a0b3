#include "geometry/triangle_grid.h"

#include <algorithm>
#include <limits>

#include "geometry/float_bounds.h"
#include "geometry/in_runs.h"

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
    lo = Min(lo, v);
    hi = Max(hi, v);
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
  blocks_.reset();
}

bool TriangleGrid::Fill(const std::vector<Vec3>& vertices,
                        const std::vector<Triangle>& triangles,
                        const std::vector<uint32_t>& order, double cell) {
  inverse_ = 1 / cell;
  // Each triangle's bounds and cells, once, in `order`; this pass and the
  // placement below run on two threads, each over half the triangles.
  constexpr int kRuns = 2;
  // Threads pay off only for large meshes.
  const int runs = order.size() >= kThreadsFromTriangles ? kRuns : 1;
  struct Range {
    float lo[3], hi[3];
    int32_t cell_lo[3], cell_hi[3];
    [[nodiscard]] size_t cells() const {
      size_t n = 1;
      for (int k = 0; k < 3; ++k) n *= cell_hi[k] - cell_lo[k] + 1;
      return n;
    }
  };
  std::vector<Range> ranges(order.size());
  std::array<size_t, kRuns> run_entries{};
  InRuns(order.size(), runs, [&](int run, size_t begin, size_t end) {
    size_t total = 0;
    for (size_t j = begin; j < end; ++j) {
      const Box b = BoxOf(vertices, triangles[order[j]]);
      Range& r = ranges[j];
      const double lo[3] = {b.lo.x, b.lo.y, b.lo.z};
      const double hi[3] = {b.hi.x, b.hi.y, b.hi.z};
      for (int k = 0; k < 3; ++k) {
        r.lo[k] = FloatDown(lo[k]);
        r.hi[k] = FloatUp(hi[k]);
        r.cell_lo[k] = static_cast<int32_t>(CellOf(lo[k], k));
        r.cell_hi[k] = static_cast<int32_t>(CellOf(hi[k], k));
      }
      total += r.cells();
    }
    run_entries[run] = total;
  });
  const size_t total = run_entries[0] + run_entries[1];
  if (total > std::min<size_t>(kMaxEntriesPerTriangle * order.size(),
                               std::numeric_limits<uint32_t>::max())) {
    return false;
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
  // blocks are laid out); each entry's cell number is kept, and each
  // cell's entries from each run counted.
  slots_.assign(1024, Slot{});
  shift_ = 64 - 10;
  std::array<std::vector<uint32_t>, kRuns> in_run;  // By cell number.
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
        slots_[i] = {key, static_cast<uint32_t>(in_run[0].size()), 0};
        last_cell = slots_[i].begin;
        for (auto& counts : in_run) counts.push_back(0);
        if (2 * in_run[0].size() > slots_.size()) Grow();
        break;
      }
    }
    last_key = key;
    return last_cell;
  };
  const size_t half = order.size() / runs;  // Where InRuns splits.
  for (size_t j = 0; j < order.size(); ++j) {
    std::vector<uint32_t>& counts = in_run[j < half ? 0 : 1];
    for_each_cell(ranges[j], [&](uint64_t key) {
      const uint32_t c = number(key);
      ++counts[c];
      cell_of_entry.push_back(c);
    });
  }
  // Each cell's triangles in whole blocks of four, cells in the order the
  // triangles met them (neighbours near each other in memory); in each
  // cell the first run's triangles, then the second's.
  const size_t cells = in_run[0].size();
  std::vector<uint32_t> first_block(cells);
  std::array<std::vector<uint32_t>, kRuns> filled;
  filled[0].assign(cells, 0);
  filled[1] = in_run[0];
  uint32_t begin = 0;
  for (size_t c = 0; c < cells; ++c) {
    first_block[c] = begin;
    begin += (in_run[0][c] + in_run[1][c] + 3) / 4;
  }
  // Not initialised first: every lane is written below.
  blocks_.reset(new Block[begin]);
  InRuns(order.size(), runs, [&](int run, size_t first, size_t end) {
    size_t entry = run == 0 ? 0 : run_entries[0];
    std::vector<uint32_t>& lanes = filled[run];
    for (size_t j = first; j < end; ++j) {
      const Range& r = ranges[j];
      for (const size_t stop = entry + r.cells(); entry < stop; ++entry) {
        const uint32_t c = cell_of_entry[entry];
        Block& block = blocks_[first_block[c] + lanes[c] / 4];
        const uint32_t lane = lanes[c]++ % 4;
        for (int k = 0; k < 3; ++k) {
          block.lo[k][lane] = r.lo[k];
          block.hi[k][lane] = r.hi[k];
        }
        block.triangle[lane] = order[j];
      }
    }
  });
  // The unused lanes of each cell's last block: an empty box.
  for (size_t c = 0; c < cells; ++c) {
    const uint32_t entries = in_run[0][c] + in_run[1][c];
    Block& last = blocks_[first_block[c] + (entries - 1) / 4];
    for (uint32_t lane = entries % 4; lane != 0 && lane < 4; ++lane) {
      for (int k = 0; k < 3; ++k) {
        last.lo[k][lane] = INFINITY;
        last.hi[k][lane] = -INFINITY;
      }
      last.triangle[lane] = 0;
    }
  }
  for (Slot& s : slots_) {
    if (s.key == kEmpty) continue;
    const uint32_t c = s.begin;
    s.begin = first_block[c];
    s.count = (in_run[0][c] + in_run[1][c] + 3) / 4;
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
