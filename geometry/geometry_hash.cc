#include "geometry/geometry_hash.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <string_view>
#include <thread>
#include <type_traits>
#include <vector>

#include "base/prefault.h"
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

// Version 3 first rounds each coordinate to the nearest float32 (STL's own
// precision, ties to even), so that a decimal written with 6 significant
// digits hashes alike whether it was read as a double (ASCII) or as the
// float an independent converter made of it (binary STL); a coordinate
// beyond float32's range is kept as it is. Version 2 rounds the double.
// Rounding to float never reverses an order, so bounds stay bounds.
double Prepared(double x, bool through_float) {
  if (!through_float || !(std::abs(x) <= std::numeric_limits<float>::max())) {
    return x;
  }
  return static_cast<double>(static_cast<float>(x));
}

// A coordinate's grid point: rounded (v3 through float32 first), then
// divided by the quantum and rounded half away from zero.
struct Quantizer {
  bool through_float = true;
  int64_t operator()(double x) const {
    return Round(Prepared(x, through_float) / kGeometryQuantumMm);
  }
  Point operator()(const Vec3& v) const {
    return {(*this)(v.x), (*this)(v.y), (*this)(v.z)};
  }
};

// The domain line hashed first: names the version and the encoding.
std::string_view Domain(GeometryHashVersion version, bool compact) {
  if (version == GeometryHashVersion::kV2) {
    return compact ? "loupe-geometry-v2 quantum_um=1\n"
                   : "loupe-geometry-v2 quantum_um=1 int64\n";
  }
  return compact ? "loupe-geometry-v3 quantum_um=1 float32\n"
                 : "loupe-geometry-v3 quantum_um=1 float32 int64\n";
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

// A triangle's nine coordinates as hashed: int32 micrometres (the compact
// encoding) or int64 (the wide one, for coordinates beyond 2.1 km).
template <typename Int>
using Record = std::array<Int, 9>;

bool FitsCompact(const Point& p) {
  return std::all_of(p.begin(), p.end(), [](int64_t v) {
    return v >= std::numeric_limits<int32_t>::min() &&
           v <= std::numeric_limits<int32_t>::max();
  });
}

// SHA-256 of the domain line and the triangles, each as nine little-endian
// Ints, from `next(Record<Int>*)` until it returns false.
template <typename Int, typename Next>
std::string HashTriangles(GeometryHashVersion version, Next&& next) {
  static_assert(sizeof(Int) == 4 || sizeof(Int) == 8);
  const std::string_view domain = Domain(version, sizeof(Int) == 4);
  crypto::Sha256 hasher;
  hasher.Update(domain.data(), domain.size());
  constexpr size_t kBatch = 4096;
  std::vector<Record<Int>> batch(kBatch);
  std::vector<unsigned char> bytes;
  for (bool more = true; more;) {
    size_t n = 0;
    while (n < kBatch && (more = next(&batch[n]))) ++n;
    if constexpr (std::endian::native == std::endian::little) {
      hasher.Update(batch.data(), sizeof(Record<Int>) * n);
    } else {
      bytes.clear();
      for (size_t j = 0; j < n; ++j) {
        for (Int v : batch[j]) {
          for (size_t b = 0; b < sizeof(Int); ++b) {
            bytes.push_back(static_cast<std::make_unsigned_t<Int>>(v) >>
                            (8 * b));
          }
        }
      }
      hasher.Update(bytes.data(), bytes.size());
    }
  }
  return crypto::ToHex(hasher.Finish());
}

// The general path: every triangle's quantized corners sorted in one
// sort, then hashed compact when every hashed coordinate allows.
std::string HashBySorting(const Mesh& mesh, GeometryHashVersion version,
                          const Quantizer& quantize) {
  std::vector<Point> q(mesh.vertices.size());
  for (size_t v = 0; v < q.size(); ++v) q[v] = quantize(mesh.vertices[v]);
  std::vector<Corners> triangles;
  ForEachCanonicalTriangle(mesh, q, 0, mesh.triangles.size(),
                           [&](const Point& a, const Point& b, const Point& c) {
                             triangles.push_back({a, b, c});
                           });
  std::sort(triangles.begin(), triangles.end());
  const bool compact =
      std::all_of(triangles.begin(), triangles.end(), [](const Corners& c) {
        return std::all_of(c.begin(), c.end(),
                           [](const Point& p) { return FitsCompact(p); });
      });
  auto hash = [&]<typename Int>(Int) {
    size_t i = 0;
    return HashTriangles<Int>(version, [&](Record<Int>* out) {
      if (i == triangles.size()) return false;
      for (int k = 0; k < 9; ++k) {
        (*out)[k] = static_cast<Int>(triangles[i][k / 3][k % 3]);
      }
      ++i;
      return true;
    });
  };
  return compact ? hash(int32_t{}) : hash(int64_t{});
}

}  // namespace

std::optional<GeometryHashVersion> GeometryHashVersionOf(int label) {
  if (label == 0 || label == 2) return GeometryHashVersion::kV2;
  if (label == 3) return GeometryHashVersion::kV3;
  return std::nullopt;
}

std::string CanonicalGeometryHash(const Mesh& mesh, int threads,
                                  GeometryHashVersion version) {
  const Quantizer quantize{version != GeometryHashVersion::kV2};
  // The passes over vertices and triangles below run on `threads` threads,
  // each over a share of them.
  // (Threads pay off only for large meshes.)
  const int runs =
      mesh.triangles.size() >= kThreadsFromTriangles ? std::max(1, threads) : 1;
  // The grid's bounds from the coordinates' bounds: dividing by the
  // quantum and rounding never reverse an order, so the smallest grid
  // value on an axis is the smallest coordinate's, without quantizing
  // every vertex twice or keeping each quantized point.
  constexpr double kInf = std::numeric_limits<double>::infinity();
  std::vector<Vec3> run_lo(runs, Vec3{kInf, kInf, kInf});
  std::vector<Vec3> run_hi(runs, Vec3{-kInf, -kInf, -kInf});
  InRuns(mesh.vertices.size(), runs, [&](int run, size_t begin, size_t end) {
    Vec3 lo = run_lo[run], hi = run_hi[run];
    for (size_t v = begin; v < end; ++v) {
      lo = Min(lo, mesh.vertices[v]);
      hi = Max(hi, mesh.vertices[v]);
    }
    run_lo[run] = lo;
    run_hi[run] = hi;
  });
  Vec3 lo_mm = run_lo[0], hi_mm = run_hi[0];
  for (int run = 1; run < runs; ++run) {
    lo_mm = Min(lo_mm, run_lo[run]);
    hi_mm = Max(hi_mm, run_hi[run]);
  }
  if (mesh.vertices.empty()) lo_mm = hi_mm = Vec3{0, 0, 0};
  const Point lo = quantize(lo_mm), hi = quantize(hi_mm);
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
  // The fast path below also needs every coordinate to fit the compact
  // encoding; otherwise the general one decides from the hashed corners.
  if (bits > kAxisBits || !FitsCompact(lo) || !FitsCompact(hi)) {
    return HashBySorting(mesh, version, quantize);
  }
  using Packed = std::array<uint64_t, 3>;
  std::vector<uint64_t> key;
  ResizeOnHugePages(&key, mesh.vertices.size());
  InRuns(key.size(), runs, [&](int, size_t begin, size_t end) {
    for (size_t v = begin; v < end; ++v) {
      const Point q = quantize(mesh.vertices[v]);
      key[v] = static_cast<uint64_t>(q[0] - lo[0]) << (2 * kAxisBits) |
               static_cast<uint64_t>(q[1] - lo[1]) << kAxisBits |
               static_cast<uint64_t>(q[2] - lo[2]);
    }
  });
  // Buckets on the top 16 bits of the first corner's key, counted per
  // run; each run places its triangles after the earlier runs' in every
  // bucket, as one pass would.
  constexpr size_t kBuckets = size_t{1} << 16;
  const int top = std::max(0, 2 * kAxisBits + bits - 16);
  const size_t triangles = mesh.triangles.size();
  std::vector<std::vector<uint32_t>> fill(runs,
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
  // Not zeroed first: every entry is written below, out of order.
  std::unique_ptr<Packed[]> sorted(new Packed[start.back()]);
  AdviseHugePages(sorted.get(), size_t{start.back()} * sizeof(Packed));
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
  return HashTriangles<int32_t>(version, [&](Record<int32_t>* out) {
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
      (*out)[3 * k] = static_cast<int32_t>(lo[0] + (key >> (2 * kAxisBits)));
      (*out)[3 * k + 1] =
          static_cast<int32_t>(lo[1] + ((key >> kAxisBits) & kMask));
      (*out)[3 * k + 2] = static_cast<int32_t>(lo[2] + (key & kMask));
    }
    ++i;
    return true;
  });
}

}  // namespace loupe::geometry
