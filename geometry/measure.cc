#include "geometry/measure.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "base/str_cat.h"

namespace loupe::geometry {
namespace {

using Matrix = std::array<std::array<double, 3>, 3>;

double Get(const Vec3& v, int i) { return i == 0 ? v.x : i == 1 ? v.y : v.z; }

std::optional<std::string> UnitWarning(const Vec3& extent) {
  const double largest = std::max({extent.x, extent.y, extent.z});
  if (largest > 0 && largest < 0.2) {
    return StrCat("the piece is ", largest,
                  " units across: the file looks like it is in metres "
                  "(Loupe reads millimetres)");
  }
  if (largest >= 0.2 && largest < 3) {
    return StrCat("the piece is ", largest,
                  " units across: the file looks like it is in inches "
                  "(Loupe reads millimetres)");
  }
  if (largest > 500) {
    return StrCat("the piece is ", largest,
                  " units across: too large for jewelry in millimetres "
                  "(micrometres?)");
  }
  return std::nullopt;
}

}  // namespace

void SymmetricEigen(const Matrix& input, std::array<double, 3>* values,
                    std::array<Vec3, 3>* vectors) {
  Matrix a = input;
  Matrix v = {{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}};
  for (int sweep = 0; sweep < 50; ++sweep) {
    const double off =
        a[0][1] * a[0][1] + a[0][2] * a[0][2] + a[1][2] * a[1][2];
    if (off < 1e-30 *
                  (a[0][0] * a[0][0] + a[1][1] * a[1][1] + a[2][2] * a[2][2]) ||
        off == 0) {
      break;
    }
    for (int p = 0; p < 2; ++p) {
      for (int q = p + 1; q < 3; ++q) {
        if (a[p][q] == 0) continue;
        const double theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
        const double t = (theta >= 0 ? 1 : -1) /
                         (std::abs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (int k = 0; k < 3; ++k) {  // a = J^T a J
          const double akp = a[k][p], akq = a[k][q];
          a[k][p] = c * akp - s * akq;
          a[k][q] = s * akp + c * akq;
        }
        for (int k = 0; k < 3; ++k) {
          const double apk = a[p][k], aqk = a[q][k];
          a[p][k] = c * apk - s * aqk;
          a[q][k] = s * apk + c * aqk;
        }
        for (int k = 0; k < 3; ++k) {
          const double vkp = v[k][p], vkq = v[k][q];
          v[k][p] = c * vkp - s * vkq;
          v[k][q] = s * vkp + c * vkq;
        }
      }
    }
  }
  std::array<int, 3> order = {0, 1, 2};
  std::sort(order.begin(), order.end(),
            [&](int i, int j) { return a[i][i] < a[j][j]; });
  for (int i = 0; i < 3; ++i) {
    (*values)[i] = a[order[i]][order[i]];
    (*vectors)[i] =
        Normalized({v[0][order[i]], v[1][order[i]], v[2][order[i]]});
  }
}

Measurements Measure(const Mesh& mesh, std::vector<double>* vertex_areas) {
  Measurements m;
  if (vertex_areas != nullptr) vertex_areas->assign(mesh.vertices.size(), 0.0);
  constexpr double kInf = std::numeric_limits<double>::infinity();
  m.bbox_min = {kInf, kInf, kInf};
  m.bbox_max = {-kInf, -kInf, -kInf};
  for (const auto& v : mesh.vertices) {
    m.bbox_min = Min(m.bbox_min, v);
    m.bbox_max = Max(m.bbox_max, v);
  }
  if (mesh.vertices.empty()) m.bbox_min = m.bbox_max = {};
  // Integrals over the solid, relative to a point inside the box (better
  // conditioned than the origin for far-off coordinates).
  const Vec3 o = (m.bbox_min + m.bbox_max) * 0.5;
  double volume = 0;
  Vec3 first;
  Matrix second{};
  for (size_t t = 0; t < mesh.triangles.size(); ++t) {
    const Vec3 a = mesh.Corner(t, 0) - o, b = mesh.Corner(t, 1) - o,
               c = mesh.Corner(t, 2) - o;
    const Vec3 n = Cross(b - a, c - a);
    const double area = 0.5 * Norm(n);
    m.area_mm2 += area;
    if (vertex_areas != nullptr) {
      for (uint32_t k : mesh.triangles[t]) (*vertex_areas)[k] += area / 3;
    }
    const double v = Dot(a, Cross(b, c)) / 6;  // Tetrahedron (o, a, b, c).
    volume += v;
    const Vec3 sum = a + b + c;
    first += sum * (v / 4);
    // Integral of x_i x_j over the tetrahedron with a corner at o; the
    // matrix is symmetric, so i <= j.
    const double pa[3] = {a.x, a.y, a.z}, pb[3] = {b.x, b.y, b.z},
                 pc[3] = {c.x, c.y, c.z}, ps[3] = {sum.x, sum.y, sum.z};
    for (int i = 0; i < 3; ++i) {
      for (int j = i; j < 3; ++j) {
        second[i][j] +=
            v / 20 *
            (pa[i] * pa[j] + pb[i] * pb[j] + pc[i] * pc[j] + ps[i] * ps[j]);
      }
    }
  }
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < i; ++j) second[i][j] = second[j][i];
  }
  m.signed_volume_mm3 = volume;
  m.volume_mm3 = std::abs(volume);
  const Vec3 centroid = volume != 0 ? first / volume : Vec3{};
  m.center_of_mass = centroid + o;
  Matrix covariance{};
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) {
      covariance[i][j] = volume != 0 ? second[i][j] / volume -
                                           Get(centroid, i) * Get(centroid, j)
                                     : 0;
    }
  }
  SymmetricEigen(covariance, &m.principal_moments, &m.principal_axes);
  m.unit_warning = UnitWarning(m.bbox_max - m.bbox_min);
  return m;
}

}  // namespace loupe::geometry
