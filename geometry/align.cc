#include "geometry/align.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <numbers>
#include <random>

#include "geometry/deviation.h"
#include "geometry/in_runs.h"
#include "geometry/measure.h"

namespace loupe::geometry {
namespace {

using Matrix3 = std::array<std::array<double, 3>, 3>;

Matrix3 Multiply(const Matrix3& a, const Matrix3& b) {
  Matrix3 c{};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 3; ++k) c[i][j] += a[i][k] * b[k][j];
  return c;
}

Matrix3 FromColumns(const std::array<Vec3, 3>& cols) {
  Matrix3 m{};
  for (int j = 0; j < 3; ++j) {
    m[0][j] = cols[j].x;
    m[1][j] = cols[j].y;
    m[2][j] = cols[j].z;
  }
  return m;
}

double Determinant(const Matrix3& m) {
  return m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
         m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
         m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
}

Matrix3 Transpose(const Matrix3& m) {
  Matrix3 t{};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) t[i][j] = m[j][i];
  return t;
}

// Rotation by |w| radians about w (Rodrigues).
Matrix3 RotationOf(const Vec3& w) {
  const double angle = Norm(w);
  Matrix3 r = {{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}};
  if (angle < 1e-15) return r;
  const Vec3 k = w / angle;
  const double c = std::cos(angle), s = std::sin(angle), v = 1 - c;
  r = {{{c + k.x * k.x * v, k.x * k.y * v - k.z * s, k.x * k.z * v + k.y * s},
        {k.y * k.x * v + k.z * s, c + k.y * k.y * v, k.y * k.z * v - k.x * s},
        {k.z * k.x * v - k.y * s, k.z * k.y * v + k.x * s, c + k.z * k.z * v}}};
  return r;
}

// Solves the n x n system a x = b (n <= 7) by Gaussian elimination with
// partial pivoting; false if singular.
template <int N>
bool Solve(std::array<std::array<double, N>, N> a, std::array<double, N> b,
           std::array<double, N>* x) {
  for (int col = 0; col < N; ++col) {
    int pivot = col;
    for (int r = col + 1; r < N; ++r)
      if (std::abs(a[r][col]) > std::abs(a[pivot][col])) pivot = r;
    if (std::abs(a[pivot][col]) < 1e-14) return false;
    std::swap(a[col], a[pivot]);
    std::swap(b[col], b[pivot]);
    for (int r = col + 1; r < N; ++r) {
      const double f = a[r][col] / a[col][col];
      for (int c = col; c < N; ++c) a[r][c] -= f * a[col][c];
      b[r] -= f * b[col];
    }
  }
  for (int r = N - 1; r >= 0; --r) {
    double s = b[r];
    for (int c = r + 1; c < N; ++c) s -= a[r][c] * (*x)[c];
    (*x)[r] = s / a[r][r];
  }
  return true;
}

// Area-weighted random samples of the mesh's vertices (at most `max`),
// given their areas: uniform marks along the running sum of the areas,
// sorted, so one pass finds them all and the samples come in the file's
// order, which is mostly the surface's: each sample's search starts from
// its predecessor's answer.
std::vector<Vec3> Samples(const Mesh& mesh, const std::vector<double>& areas,
                          size_t max) {
  if (mesh.vertices.size() <= max) return mesh.vertices;
  double total = 0;
  for (double a : areas) total += a;
  if (!(total > 0)) {  // No area at all: the first vertices.
    return {mesh.vertices.begin(), mesh.vertices.begin() + max};
  }
  std::mt19937_64 rng(20261123);
  std::uniform_real_distribution<double> uniform(0, total);
  std::vector<double> marks(max);
  for (double& m : marks) m = uniform(rng);
  std::sort(marks.begin(), marks.end());
  std::vector<Vec3> out;
  out.reserve(max);
  double sum = 0;
  size_t next = 0;
  for (size_t i = 0; i < areas.size() && next < max; ++i) {
    sum += areas[i];
    for (; next < max && marks[next] < sum; ++next) {
      out.push_back(mesh.vertices[i]);
    }
  }
  return out;
}

// RMS distance of `points` under `pose` to the reference (a quick score),
// or infinity as soon as it is sure to exceed `give_up`.
double Score(const std::vector<Vec3>& points, const Pose& pose,
             const MeshDistance& reference, double give_up = INFINITY) {
  const double n = static_cast<double>(std::max<size_t>(1, points.size()));
  const double budget = give_up * give_up * n;
  double sum = 0;
  ClosestPoint c;
  for (const auto& p : points) {
    // Nothing beyond what is left of the budget need be found.
    if (!reference.ClosestWithin(pose.Apply(p), std::sqrt(budget - sum), &c)) {
      return INFINITY;
    }
    sum += c.distance * c.distance;
  }
  return std::sqrt(sum / n);
}

// Also gives the reference's candidate symmetry axis (its principal axis
// whose variance stands apart).
Pose Coarse(const Measurements& a, const Measurements& b,
            const std::vector<Vec3>& probe, const MeshDistance& distance,
            int threads, Vec3* axis, const std::vector<Pose>* known_poses) {
  const auto& l = b.principal_moments;
  const double spread = std::max(l[2], 1e-12);
  // A ring: two equal variances; its axis is the third.
  const bool ring_like =
      (l[2] - l[1]) < 0.02 * spread || (l[1] - l[0]) < 0.02 * spread;
  const int axis_index = (l[1] - l[0]) > (l[2] - l[1]) ? 0 : 2;
  *axis = b.principal_axes[axis_index];
  const Matrix3 from = FromColumns(a.principal_axes);
  const Matrix3 to = FromColumns(b.principal_axes);
  std::vector<Pose> candidates;
  if (known_poses != nullptr) candidates = *known_poses;
  const int spins = ring_like ? 12 : 1;
  for (int signs = 0; signs < 8 && known_poses == nullptr; ++signs) {
    // The eigenvectors' signs are arbitrary on both sides: every choice
    // that makes a proper rotation is a candidate.
    Matrix3 flip = {{{signs & 1 ? -1.0 : 1.0, 0, 0},
                     {0, signs & 2 ? -1.0 : 1.0, 0},
                     {0, 0, signs & 4 ? -1.0 : 1.0}}};
    const Matrix3 base = Multiply(Multiply(to, flip), Transpose(from));
    if (Determinant(base) < 0) continue;
    for (int spin = 0; spin < spins; ++spin) {
      Pose pose;
      pose.rotation = Multiply(
          RotationOf(*axis * (2 * std::numbers::pi * spin / spins)), base);
      pose.translation = b.center_of_mass - pose.Apply(a.center_of_mass);
      candidates.push_back(pose);
    }
  }
  // The first candidate scored alone gives a bound; the rest are split
  // over `threads`, each giving up once it is sure to lose to the best
  // score found so far on any thread. The best is the first candidate
  // with the lowest score, as in one pass.
  std::vector<double> scores(candidates.size(), INFINITY);
  scores[0] = Score(probe, candidates[0], distance);
  std::atomic<double> bound = scores[0];
  InRuns(candidates.size() - 1, threads, [&](int, size_t begin, size_t end) {
    for (size_t i = begin + 1; i < end + 1; ++i) {
      scores[i] = Score(probe, candidates[i], distance, bound.load());
      for (double b = bound.load(); scores[i] < b;) {
        if (bound.compare_exchange_weak(b, scores[i])) break;
      }
    }
  });
  return candidates[std::min_element(scores.begin(), scores.end()) -
                    scores.begin()];
}

struct Correspondence {
  Vec3 p;  // Moving point under the current pose.
  Vec3 q;  // Closest reference point.
  Vec3 n;  // Reference normal there.
  double d;
};

}  // namespace

Vec3 Pose::Apply(const Vec3& p) const {
  const auto& r = rotation;
  return Vec3{r[0][0] * p.x + r[0][1] * p.y + r[0][2] * p.z,
              r[1][0] * p.x + r[1][1] * p.y + r[1][2] * p.z,
              r[2][0] * p.x + r[2][1] * p.y + r[2][2] * p.z} *
             scale +
         translation;
}

Pose Pose::After(const Pose& first) const {
  Pose out;
  out.rotation = Multiply(rotation, first.rotation);
  out.scale = scale * first.scale;
  out.translation = Apply(first.translation);
  return out;
}

Mesh Transformed(const Mesh& mesh, const Pose& pose) {
  Mesh out = mesh;
  for (auto& v : out.vertices) v = pose.Apply(v);
  return out;
}

AlignResult Align(const Mesh& moving, const Mesh& reference,
                  const MeshDistance& distance, const AlignOptions& o,
                  const AlignInputs& known) {
  AlignResult result;
  std::vector<double> own_areas;
  if (known.moving_areas == nullptr) own_areas = VertexAreas(moving);
  const std::vector<double>& areas =
      known.moving_areas ? *known.moving_areas : own_areas;
  const std::vector<Vec3> samples = Samples(moving, areas, o.max_samples);
  // The coarse search's probe: 500 of the samples, evenly through them
  // (as area-weighted as they are).
  std::vector<Vec3> probe;
  if (samples.size() <= 500) probe = samples;
  for (size_t i = 0; i < 500 && samples.size() > 500; ++i) {
    probe.push_back(samples[i * samples.size() / 500]);
  }
  const Measurements ref =
      known.reference ? *known.reference : Measure(reference);
  Vec3 axis;
  Pose pose = Coarse(known.moving ? *known.moving : Measure(moving), ref, probe,
                     distance, o.threads, &axis, known.initial_poses);
  std::vector<Correspondence> pairs(samples.size());
  // Each sample's last nearest triangle: the next iteration moves it
  // little, so a walk from there finds its new nearest point (the first
  // search for each sample is exact, from the grid).
  constexpr uint32_t kNoHint = ~uint32_t{0};
  std::vector<uint32_t> hints(samples.size(), kNoHint);
  // Coarse to fine: every fourth sample (still in file order) until the
  // steps are small, then every sample until they are tiny.
  size_t stride = samples.size() >= 8000 ? 4 : 1;
  double level_rms = INFINITY;  // The last fit at this stride.
  constexpr int N = 7;
  for (int it = 0; it < o.max_iterations; ++it) {
    result.iterations = it + 1;
    const size_t active = (samples.size() + stride - 1) / stride;
    InRuns(active, o.threads, [&](int, size_t begin, size_t end) {
      for (size_t j = begin; j < end; ++j) {
        const size_t i = j * stride;
        const Vec3 p = pose.Apply(samples[i]);
        const ClosestPoint c = hints[i] == kNoHint
                                   ? distance.Closest(p)
                                   : distance.ClosestByWalking(p, hints[i]);
        hints[i] = c.triangle;
        pairs[j] = {p, c.point, distance.face_normals()[c.triangle],
                    c.distance};
      }
    });
    std::vector<Correspondence> kept(pairs.begin(), pairs.begin() + active);
    const size_t keep =
        std::max<size_t>(6, static_cast<size_t>(kept.size() * (1 - o.trim)));
    if (keep < kept.size()) {
      std::nth_element(kept.begin(), kept.begin() + keep, kept.end(),
                       [](const auto& a, const auto& b) { return a.d < b.d; });
      kept.resize(keep);
    }
    // Linearised point-to-plane step about the kept points' centroid:
    // x -> x + w x (x - c) + t + sigma (x - c).
    Vec3 c;
    for (const auto& k : kept) c += k.p;
    c = c / static_cast<double>(kept.size());
    const int n = o.allow_scale ? 7 : 6;
    std::array<std::array<double, N>, N> a{};
    std::array<double, N> b{}, x{};
    double sum2 = 0;
    for (const auto& k : kept) {
      const Vec3 p = k.p - c;
      const Vec3 pn = Cross(p, k.n);
      const double row[N] = {pn.x,  pn.y,  pn.z,       k.n.x,
                             k.n.y, k.n.z, Dot(p, k.n)};
      const double r = Dot(k.p - k.q, k.n);
      sum2 += k.d * k.d;
      for (int i = 0; i < n; ++i) {
        for (int j = 0; j < n; ++j) a[i][j] += row[i] * row[j];
        b[i] -= row[i] * r;
      }
    }
    const double rms = std::sqrt(sum2 / kept.size());
    // Settled: the fit over all samples improved by less than 1e-5 of
    // itself since the last step (what is left moves points along the
    // surface, e.g. turns a band about its axis, and changes no distance).
    const bool settled = stride == 1 && level_rms - rms < 1e-5 * rms;
    level_rms = rms;
    result.rms_mm = rms;
    if (!o.allow_scale) a[6][6] = 1;  // Unused unknown.
    // Damping (Levenberg): directions the geometry does not determine (the
    // spin of a plain band about its axis) get no step instead of a wild
    // one.
    double trace = 0;
    for (int i = 0; i < n; ++i) trace += a[i][i];
    for (int i = 0; i < n; ++i) a[i][i] += 1e-6 * trace / n;
    if (!Solve<N>(a, b, &x)) break;
    Vec3 w{x[0], x[1], x[2]}, t{x[3], x[4], x[5]};
    // Small steps: the linearisation holds for small angles only.
    if (Norm(w) > 0.1) w = w * (0.1 / Norm(w));
    const double sigma = o.allow_scale ? x[6] : 0;
    Pose step;
    step.rotation = RotationOf(w);
    step.scale = 1 + sigma;
    step.translation = c - step.Apply(c) + t;
    pose = step.After(pose);
    // Converged: the step moves points by less than a tenth of a micrometre
    // (angles times the size of the piece).
    const double moved =
        std::max({Norm(w) * 20, Norm(t), std::abs(sigma) * 20});
    if (stride > 1 && moved < 1e-3) {
      // Close on a quarter of the samples: now all of them (the ones not
      // yet used start with an exact search from the grid).
      stride = 1;
      level_rms = INFINITY;
    } else if (stride == 1 && (moved < 1e-4 || settled)) {
      break;
    }
  }
  result.pose = pose;
  // Is the rotation about the candidate symmetry axis determined? Turn
  // the aligned piece by 10 degrees about it: if the fit barely changes,
  // the geometry cannot tell those poses apart.
  const Vec3 centre = ref.center_of_mass;
  Pose turn;
  turn.rotation = RotationOf(axis * (10 * std::numbers::pi / 180));
  turn.translation = centre - turn.Apply(centre);
  const double here = Score(probe, pose, distance);
  const double turned = Score(probe, turn.After(pose), distance);
  if (turned - here < 0.01) {
    result.pose_determined = false;
    result.note =
        "the rotation about the ring's axis is not determined: the piece is "
        "rotationally symmetric, so deviations do not depend on it";
  }
  return result;
}

}  // namespace loupe::geometry
