#include "tools/gen/piece_gen.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numbers>
#include <random>
#include <vector>

namespace loupe::gen {
namespace {

using geometry::Mesh;
using geometry::Vec3;
constexpr double kPi = std::numbers::pi;

// Portable draws (std:: distributions differ between libraries).
class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed * 0x9E3779B97F4A7C15ull + 1) {}
  double Uniform(double lo, double hi) {
    return lo + (hi - lo) * ((engine_() >> 11) * 0x1.0p-53);
  }
  int Int(int lo, int hi) {  // Inclusive.
    return lo +
           static_cast<int>(engine_() % static_cast<uint64_t>(hi - lo + 1));
  }
  bool Chance(double p) { return Uniform(0, 1) < p; }
  double Gauss() {  // Box-Muller.
    const double u = Uniform(1e-12, 1), v = Uniform(0, 1);
    return std::sqrt(-2 * std::log(u)) * std::cos(2 * kPi * v);
  }

 private:
  std::mt19937_64 engine_;
};

// A point of the profile: height over the inner radius, axial position,
// and which surface it is on.
struct ProfilePoint {
  double u, z;
  bool outer, inner;
};

double OuterHeight(const PieceSpec& s, double z) {
  const double t = s.thickness, q = std::clamp(2 * z / s.width, -1.0, 1.0);
  switch (s.profile) {
    case Profile::kFlat:
      return t;
    case Profile::kD:
    case Profile::kComfort:
      return 0.35 * t + 0.65 * t * std::sqrt(std::max(0.0, 1 - q * q));
    case Profile::kKnife:
      return 0.3 * t + 0.7 * t * (1 - std::abs(q));
  }
  return t;
}

double InnerHeight(const PieceSpec& s, double z) {
  if (s.profile != Profile::kComfort) return 0;
  const double q = 2 * z / s.width;
  return std::min(0.35, 0.2 * s.thickness) * q * q;
}

// The closed profile, counter-clockwise in (r, z): outer surface upwards,
// the top side, the inner surface downwards, the bottom side.
std::vector<ProfilePoint> ProfileOf(const PieceSpec& s, double step) {
  std::vector<ProfilePoint> out;
  const double h = s.width / 2;
  const int n = std::max(4, static_cast<int>(std::ceil(s.width / step)));
  for (int i = 0; i < n; ++i) {
    const double z = -h + s.width * i / n;
    out.push_back({OuterHeight(s, z), z, true, false});
  }
  auto side = [&](double z, double from, double to) {
    const int m =
        std::max(1, static_cast<int>(std::ceil(std::abs(to - from) / step)));
    for (int i = 0; i < m; ++i) {
      out.push_back({from + (to - from) * i / m, z, false, false});
    }
  };
  side(h, OuterHeight(s, h), InnerHeight(s, h));
  for (int i = 0; i < n; ++i) {
    const double z = h - s.width * i / n;
    out.push_back({InnerHeight(s, z), z, false, true});
  }
  side(-h, InnerHeight(s, -h), OuterHeight(s, -h));
  return out;
}

// 0..1: how deep the engraving is at (angle, z): dot-matrix glyphs 5 x 7,
// one pattern per character, softened at the cells' edges.
double EngravingAt(const PieceSpec& s, double angle, double z) {
  if (s.engraving.empty()) return 0;
  const double cell = std::min(0.28, s.width * 0.7 / 7);
  const double r = s.inner_diameter / 2;
  double a = std::fmod(angle - s.engraving_at + 4 * kPi, 2 * kPi) * r;
  const double pitch = 6 * cell;
  const int index = static_cast<int>(a / pitch);
  if (index >= static_cast<int>(s.engraving.size())) return 0;
  const double col = (a - index * pitch) / cell, row = (z + 3.5 * cell) / cell;
  if (col >= 5 || row < 0 || row >= 7) return 0;
  const int ci = static_cast<int>(col), ri = static_cast<int>(row);
  const uint64_t bits =
      static_cast<uint64_t>(static_cast<unsigned char>(s.engraving[index])) *
      0x9E3779B97F4A7C15ull;
  if (((bits >> (ci * 7 + ri) % 61) & 1) == 0) return 0;
  const double edge =
      std::min({col - ci, ci + 1 - col, row - ri, ri + 1 - row});
  return std::clamp(edge * cell / 0.05, 0.0, 1.0);
}

double Modulation(const PieceSpec& s, const ProfilePoint& p, double angle) {
  double du = 0;
  const double q = 2 * p.z / s.width;
  if (p.outer && s.twist_strands > 0) {
    du += 0.2 * (0.5 + 0.5 * std::cos(s.twist_strands * angle +
                                      2 * kPi * s.twist_turns * q));
  }
  if (p.outer && s.milgrain_beads > 0 && std::abs(q) > 0.75) {
    const double c = std::max(0.0, std::cos(s.milgrain_beads * angle));
    du += 0.12 * c * c * c * c * (std::abs(q) - 0.75) / 0.25;
  }
  if (p.inner && std::abs(q) < 0.9) du += 0.15 * EngravingAt(s, angle, p.z);
  return du;
}

void Orient(Mesh* m, size_t first_triangle) {
  double volume = 0;
  for (size_t t = first_triangle; t < m->triangles.size(); ++t) {
    volume += Dot(m->Corner(t, 0), Cross(m->Corner(t, 1), m->Corner(t, 2)));
  }
  if (volume < 0) {
    for (size_t t = first_triangle; t < m->triangles.size(); ++t) {
      std::swap(m->triangles[t][1], m->triangles[t][2]);
    }
  }
}

// A closed cylinder from `base` along unit `dir`, appended to `m`.
void AddCylinder(Mesh* m, Vec3 base, Vec3 dir, double radius, double length,
                 const Resolution& res) {
  const size_t first = m->triangles.size();
  const Vec3 helper = std::abs(dir.x) < 0.9 ? Vec3{1, 0, 0} : Vec3{0, 1, 0};
  const Vec3 e1 = geometry::Normalized(Cross(dir, helper)), e2 = Cross(dir, e1);
  const int sides =
      std::clamp(static_cast<int>(2 * kPi * radius / res.segment_mm), 8, 96);
  const int rings =
      std::max(1, static_cast<int>(std::ceil(length / res.profile_mm)));
  const uint32_t v0 = m->vertices.size();
  for (int k = 0; k <= rings; ++k) {
    for (int i = 0; i < sides; ++i) {
      const double a = 2 * kPi * (i + res.phase) / sides;
      m->vertices.push_back(base + dir * (length * k / rings) +
                            e1 * (radius * std::cos(a)) +
                            e2 * (radius * std::sin(a)));
    }
  }
  const uint32_t bottom = m->vertices.size();
  m->vertices.push_back(base);
  m->vertices.push_back(base + dir * length);
  for (int k = 0; k < rings; ++k) {
    for (int i = 0; i < sides; ++i) {
      const uint32_t a = v0 + k * sides + i,
                     b = v0 + k * sides + (i + 1) % sides;
      m->triangles.push_back({a, b, b + sides});
      m->triangles.push_back({a, b + sides, a + sides});
    }
  }
  for (int i = 0; i < sides; ++i) {
    const uint32_t a = v0 + i, b = v0 + (i + 1) % sides;
    m->triangles.push_back({bottom, b, a});
    m->triangles.push_back({bottom + 1, a + rings * sides, b + rings * sides});
  }
  Orient(m, first);
}

void AddHead(const PieceSpec& s, const Resolution& res, Mesh* m) {
  const double base = s.inner_diameter / 2 + s.thickness - 0.25;
  const double seat = s.stone_diameter / 2 + 0.25;
  const Vec3 up{0, 1, 0};
  AddCylinder(m, {0, base, 0}, up, seat, s.head_height, res);
  for (int k = 0; k < s.prongs; ++k) {
    const double a = 2 * kPi * (k + 0.5) / s.prongs;
    const Vec3 foot{seat * std::cos(a), base + 0.3 * s.head_height,
                    seat * std::sin(a)};
    AddCylinder(m, foot, up, 0.35,
                0.7 * s.head_height + 0.35 * s.stone_diameter, res);
  }
}

}  // namespace

PieceSpec RandomPiece(uint64_t seed) {
  Rng rng(seed);
  PieceSpec s;
  s.profile = static_cast<Profile>(rng.Int(0, 3));
  const double us_size = 4 + 0.25 * rng.Int(0, 32);
  s.inner_diameter = (0.458 + 0.032 * us_size) * 25.4;
  s.width = rng.Uniform(1.8, 8);
  s.thickness = rng.Uniform(1.2, 2.6);
  if (rng.Chance(0.8)) {
    const int n = rng.Int(3, 12);
    for (int i = 0; i < n; ++i) {
      s.engraving += "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[rng.Int(0, 35)];
    }
    s.engraving_at = rng.Uniform(0, 2 * kPi);
  }
  if (rng.Chance(0.25)) {
    s.twist_strands = rng.Int(2, 6);
    s.twist_turns = rng.Uniform(0.2, 1.0);
  }
  if (rng.Chance(0.25)) s.milgrain_beads = rng.Int(60, 140);
  if (rng.Chance(0.35)) {
    s.prongs = rng.Chance(0.5) ? 4 : 6;
    s.stone_diameter = rng.Uniform(3, 8);
    s.head_height = rng.Uniform(2, 4.5);
  }
  return s;
}

PieceSpec Resized(const PieceSpec& spec) {
  PieceSpec s = spec;
  s.inner_diameter += 2.55 / kPi;
  return s;
}

Mesh BuildPiece(const PieceSpec& s, const Resolution& res) {
  Mesh m;
  const std::vector<ProfilePoint> profile = ProfileOf(s, res.profile_mm);
  const double r0 = s.inner_diameter / 2;
  const int segments = std::max(
      16, static_cast<int>(2 * kPi * (r0 + s.thickness) / res.segment_mm));
  const size_t np = profile.size();
  for (int i = 0; i < segments; ++i) {
    const double a = 2 * kPi * (i + res.phase) / segments;
    for (const auto& p : profile) {
      const double r = r0 + p.u + Modulation(s, p, a);
      m.vertices.push_back({r * std::cos(a), r * std::sin(a), p.z});
    }
  }
  const bool other_diagonal = res.phase != 0;
  for (int i = 0; i < segments; ++i) {
    for (size_t j = 0; j < np; ++j) {
      const uint32_t a = i * np + j, b = ((i + 1) % segments) * np + j;
      const uint32_t c = ((i + 1) % segments) * np + (j + 1) % np,
                     d = i * np + (j + 1) % np;
      if (other_diagonal) {
        m.triangles.push_back({a, b, d});
        m.triangles.push_back({b, c, d});
      } else {
        m.triangles.push_back({a, b, c});
        m.triangles.push_back({a, c, d});
      }
    }
  }
  Orient(&m, 0);
  if (s.prongs > 0) AddHead(s, res, &m);
  return m;
}

Mesh SimulateScan(const PieceSpec& spec, const ScanOptions& o) {
  Rng rng(o.seed ^ 0x5CA7);
  const double noise = o.noise_mm >= 0 ? o.noise_mm : rng.Uniform(0.02, 0.05);
  const double coverage = o.coverage >= 0 ? o.coverage : rng.Uniform(0.6, 0.8);
  // Facet size for about the target number of vertices.
  const double target = o.target_points > 0 ? o.target_points : 40000;
  const double around = 2 * kPi * (spec.inner_diameter / 2 + spec.thickness);
  const double across = 2 * spec.width + 2 * spec.thickness;
  const double step = std::sqrt(around * across / (0.8 * target / 1.1));
  Resolution res;
  res.segment_mm = step * rng.Uniform(0.9, 1.1);
  res.profile_mm = 0.8 * step * rng.Uniform(0.9, 1.1);
  res.phase = rng.Uniform(0.2, 0.8);
  Mesh m = BuildPiece(spec, res);
  // Wear and noise along the vertex normals.
  std::vector<Vec3> normals(m.vertices.size());
  for (size_t t = 0; t < m.triangles.size(); ++t) {
    const Vec3 n =
        Cross(m.Corner(t, 1) - m.Corner(t, 0), m.Corner(t, 2) - m.Corner(t, 0));
    for (int k = 0; k < 3; ++k) normals[m.triangles[t][k]] += n;
  }
  for (size_t i = 0; i < m.vertices.size(); ++i) {
    m.vertices[i] +=
        geometry::Normalized(normals[i]) * (-o.wear_mm + noise * rng.Gauss());
  }
  // A cap the scanner missed: the triangles furthest along a random
  // direction, until `coverage` of the area is left.
  const Vec3 dir =
      geometry::Normalized(Vec3{rng.Gauss(), rng.Gauss(), rng.Gauss()});
  std::vector<std::pair<double, size_t>> order;
  double total = 0;
  std::vector<double> area(m.triangles.size());
  for (size_t t = 0; t < m.triangles.size(); ++t) {
    const Vec3 a = m.Corner(t, 0), b = m.Corner(t, 1), c = m.Corner(t, 2);
    area[t] = Norm(Cross(b - a, c - a)) / 2;
    total += area[t];
    order.emplace_back(Dot(a + b + c, dir), t);
  }
  std::sort(order.begin(), order.end());
  Mesh out;
  std::vector<uint32_t> remap(m.vertices.size(), ~0u);
  double kept = 0;
  for (const auto& [key, t] : order) {
    if (kept > coverage * total) break;
    kept += area[t];
    geometry::Triangle tri;
    for (int k = 0; k < 3; ++k) {
      uint32_t& r = remap[m.triangles[t][k]];
      if (r == ~0u) {
        r = out.vertices.size();
        out.vertices.push_back(m.vertices[m.triangles[t][k]]);
      }
      tri[k] = r;
    }
    out.triangles.push_back(tri);
  }
  // A random pose: a uniform random rotation (unit quaternion), a shift.
  double q[4];
  double qn = 0;
  for (double& x : q) {
    x = rng.Gauss();
    qn += x * x;
  }
  for (double& x : q) x /= std::sqrt(qn);
  const auto [w, x, y, z] = std::array<double, 4>{q[0], q[1], q[2], q[3]};
  const double r[3][3] = {
      {1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)},
      {2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)},
      {2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)}};
  const Vec3 shift{rng.Uniform(-30, 30), rng.Uniform(-30, 30),
                   rng.Uniform(-30, 30)};
  for (Vec3& v : out.vertices) {
    if (!o.random_pose) break;
    v = Vec3{r[0][0] * v.x + r[0][1] * v.y + r[0][2] * v.z,
             r[1][0] * v.x + r[1][1] * v.y + r[1][2] * v.z,
             r[2][0] * v.x + r[2][1] * v.y + r[2][2] * v.z} +
        shift;
  }
  return out;
}

}  // namespace loupe::gen

namespace loupe::gen {

std::string StlBinary(const geometry::Mesh& mesh) {
  std::string out(80, '\0');
  out.replace(0, 19, "Loupe synthetic STL");
  auto put32 = [&out](uint32_t v) {
    for (int k = 0; k < 4; ++k) out.push_back(static_cast<char>(v >> (8 * k)));
  };
  auto putf = [&](double d) {
    const float f = static_cast<float>(d);
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    put32(bits);
  };
  put32(static_cast<uint32_t>(mesh.triangles.size()));
  out.reserve(out.size() + 50 * mesh.triangles.size());
  for (size_t t = 0; t < mesh.triangles.size(); ++t) {
    const geometry::Vec3 n =
        geometry::Normalized(Cross(mesh.Corner(t, 1) - mesh.Corner(t, 0),
                                   mesh.Corner(t, 2) - mesh.Corner(t, 0)));
    putf(n.x), putf(n.y), putf(n.z);
    for (int k = 0; k < 3; ++k) {
      const geometry::Vec3 v = mesh.Corner(t, k);
      putf(v.x), putf(v.y), putf(v.z);
    }
    out.push_back('\0');
    out.push_back('\0');
  }
  return out;
}

}  // namespace loupe::gen
