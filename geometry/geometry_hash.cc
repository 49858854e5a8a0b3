#include "geometry/geometry_hash.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <thread>
#include <vector>

#include "crypto/sha256.h"
#include "geometry/in_runs.h"

namespace loupe::geometry {
namespace {

using Point = std::array<int64_t, 3>;
using Corners = std::array<Point, 3>;

// std::llround, inline below 2^62: the integer part by truncation, then
// the fraction (exact in double) rounds half away from zero.
int64_t Round(double x) {
  if (!(std::abs(x) < 0x1p62)) return std::llround(x);
  int64_t t = static_cast<int64_t>(x);
  const double fraction = x - static_cast<double>(t);
  if (fraction >= 0.5) {
    ++t;
  } else if (fraction <= -0.5) {
    --t;
  }
  return t;
}

Point Quantize(const Vec3& v) {
  return {Round(v.x / kGeometryQuantumMm), Round(v.y / kGeometryQuantumMm),
          Round(v.z / kGeometryQuantumMm)};
}

// Each triangle's corners as `keys` (quantized points, or keys that order
// the same way), rotated to start at the smallest; degenerate ones (two
// corners on one grid point) dropped.
template <typename Key, typename F>
void ForEachCanonicalTriangle(const Mesh& mesh, const std::vector<Key>& keys,
                              size_t begin, size_t end, F&& f) {
  for (size_t i = begin; i < end; ++i) {
    const Triangle& t = mesh.triangles[i];
    const Key &a = keys[t[0]], &b = keys[t[1]], &c = keys[t[2]];
    if (a == b || b == c || a == c) continue;
    if (a < b && a < c) {
      f(a, b, c);
    } else if (b < c) {
      f(b, c, a);
    } else {
      f(c, a, b);
    }
  }
}

// SHA-256 of the domain line and the triangles, each as nine
// little-endian int64s, from `next(Corners*)` until it returns false.
template <typename Next>
std::string HashTriangles(Next&& next) {
  crypto::Sha256 hasher;
  static constexpr char kDomain[] = "loupe-geometry-v1 quantum_um=1\n";
  hasher.Update(kDomain, sizeof kDomain - 1);
  static_assert(sizeof(Corners) == 72);
  constexpr size_t kBatch = 4096;
  std::vector<Corners> batch(kBatch);
  std::vector<unsigned char> bytes;
  for (bool more = true; more;) {
    size_t n = 0;
    while (n < kBatch && (more = next(&batch[n]))) ++n;
    if constexpr (std::endian::native == std::endian::little) {
      hasher.Update(batch.data(), 72 * n);
    } else {
      bytes.clear();
      for (size_t j = 0; j < n; ++j) {
        for (const Point& p : batch[j]) {
          for (int64_t v : p) {
            for (int b = 0; b < 8; ++b) bytes.push_back(uint64_t(v) >> (8 * b));
          }
        }
      }
      hasher.Update(bytes.data(), bytes.size());
    }
  }
  return crypto::ToHex(hasher.Finish());
}

}  // namespace

std::string CanonicalGeometryHash(const Mesh& mesh) {
  // The passes over vertices and triangles below run on two threads, each
  // over half of them.
  // (Threads pay off only for large meshes.)
  constexpr int kRuns = 2;
  const int runs = mesh.triangles.size() >= kThreadsFromTriangles ? kRuns : 1;
  std::vector<Point> q(mesh.vertices.size());
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  std::array<Point, kRuns> run_lo, run_hi;
  run_lo.fill({kMax, kMax, kMax});
  run_hi.fill({-kMax - 1, -kMax - 1, -kMax - 1});
  InRuns(q.size(), runs, [&](int run, size_t begin, size_t end) {
    Point lo = run_lo[run], hi = run_hi[run];
    for (size_t v = begin; v < end; ++v) {
      q[v] = Quantize(mesh.vertices[v]);
      for (int k = 0; k < 3; ++k) {
        lo[k] = std::min(lo[k], q[v][k]);
        hi[k] = std::max(hi[k], q[v][k]);
      }
    }
    run_lo[run] = lo;
    run_hi[run] = hi;
  });
  Point lo = {0, 0, 0}, hi = {0, 0, 0};
  if (!q.empty()) {
    for (int k = 0; k < 3; ++k) {
      lo[k] = std::min(run_lo[0][k], run_lo[1][k]);
      hi[k] = std::max(run_hi[0][k], run_hi[1][k]);
    }
  }
  // When every coordinate lies within 2^21 um (2 m) of the smallest on its
  // axis, a corner packs into one 63-bit key whose numeric order is the
  // corners' order: a bucket pass on the leading bits and small sorts
  // replace one large sort of 72-byte records.
  constexpr int kAxisBits = 21;
  int bits = 1;
  for (int k = 0; k < 3; ++k) {
    const uint64_t range = static_cast<uint64_t>(hi[k]) - lo[k];
    while (bits <= kAxisBits && (range >> bits) != 0) ++bits;
  }
  if (bits > kAxisBits) {
    std::vector<Corners> triangles;
    ForEachCanonicalTriangle(
        mesh, q, 0, mesh.triangles.size(),
        [&](const Point& a, const Point& b, const Point& c) {
          triangles.push_back({a, b, c});
        });
    std::sort(triangles.begin(), triangles.end());
    size_t i = 0;
    return HashTriangles([&](Corners* out) {
      if (i == triangles.size()) return false;
      *out = triangles[i++];
      return true;
    });
  }
  using Packed = std::array<uint64_t, 3>;
  std::vector<uint64_t> key(q.size());
  InRuns(q.size(), runs, [&](int, size_t begin, size_t end) {
    for (size_t v = begin; v < end; ++v) {
      key[v] = static_cast<uint64_t>(q[v][0] - lo[0]) << (2 * kAxisBits) |
               static_cast<uint64_t>(q[v][1] - lo[1]) << kAxisBits |
               static_cast<uint64_t>(q[v][2] - lo[2]);
    }
  });
  // Buckets on the top 16 bits of the first corner's key, counted per
  // run; each run places its triangles after the earlier runs' in every
  // bucket, as one pass would.
  constexpr size_t kBuckets = size_t{1} << 16;
  const int top = std::max(0, 2 * kAxisBits + bits - 16);
  const size_t triangles = mesh.triangles.size();
  std::vector<std::vector<uint32_t>> fill(kRuns,
                                          std::vector<uint32_t>(kBuckets, 0));
  InRuns(triangles, runs, [&](int run, size_t begin, size_t end) {
    ForEachCanonicalTriangle(
        mesh, key, begin, end,
        [&](uint64_t a, uint64_t, uint64_t) { ++fill[run][a >> top]; });
  });
  std::vector<uint32_t> start(kBuckets + 1, 0);
  for (size_t b = 0; b < kBuckets; ++b) {
    uint32_t at = start[b];
    for (auto& f : fill) {
      const uint32_t count = f[b];
      f[b] = at;
      at += count;
    }
    start[b + 1] = at;
  }
  // Not zeroed first: every entry is written below.
  std::unique_ptr<Packed[]> sorted(new Packed[start.back()]);
  InRuns(triangles, runs, [&](int run, size_t begin, size_t end) {
    ForEachCanonicalTriangle(mesh, key, begin, end,
                             [&](uint64_t a, uint64_t b, uint64_t c) {
                               sorted[fill[run][a >> top]++] = {a, b, c};
                             });
  });
  // The buckets are sorted on a second thread (for a large mesh), a chunk
  // at a time, while this one hashes the chunks already sorted.
  constexpr size_t kChunk = 1024;  // Buckets.
  const size_t chunks = (start.size() - 1) / kChunk;
  std::atomic<size_t> sorted_chunks = 0;
  auto sort_chunks = [&] {
    for (size_t c = 0; c < chunks; ++c) {
      for (size_t b = c * kChunk; b < (c + 1) * kChunk; ++b) {
        std::sort(sorted.get() + start[b], sorted.get() + start[b + 1]);
      }
      sorted_chunks.store(c + 1, std::memory_order_release);
      sorted_chunks.notify_one();
    }
  };
  std::jthread sorter;
  if (runs > 1) {
    sorter = std::jthread(sort_chunks);
  } else {
    sort_chunks();
  }
  constexpr uint64_t kMask = (uint64_t{1} << kAxisBits) - 1;
  size_t i = 0, ready = 0, chunk = 0;
  return HashTriangles([&](Corners* out) {
    while (i == ready) {
      if (chunk == chunks) return false;
      for (size_t c;
           (c = sorted_chunks.load(std::memory_order_acquire)) <= chunk;) {
        sorted_chunks.wait(c, std::memory_order_acquire);
      }
      ready = start[++chunk * kChunk];
    }
    for (int k = 0; k < 3; ++k) {
      const uint64_t key = sorted[i][k];
      (*out)[k] = {lo[0] + static_cast<int64_t>(key >> (2 * kAxisBits)),
                   lo[1] + static_cast<int64_t>((key >> kAxisBits) & kMask),
                   lo[2] + static_cast<int64_t>(key & kMask)};
    }
    ++i;
    return true;
  });
}

}  // namespace loupe::geometry
