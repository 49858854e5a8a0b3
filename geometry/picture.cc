#include "geometry/picture.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "geometry/deviation.h"

namespace loupe::geometry {
namespace {

constexpr int kView = 400;
constexpr int kWidth = 3 * kView;
constexpr int kBar = 40, kHistogram = 120;
constexpr int kHeight = kView + kBar + kHistogram;
using Rgb = std::array<uint8_t, 3>;
constexpr Rgb kBackground = {245, 245, 245};

Rgb Colour(double d, double tolerance) {
  if (std::abs(d) <= tolerance) return {40, 200, 60};
  const double f = std::clamp(std::abs(d) / (3 * tolerance), 0.0, 1.0);
  const auto hot = static_cast<uint8_t>(120 + 135 * f);
  const auto cold = static_cast<uint8_t>(200 * (1 - f));
  return d > 0 ? Rgb{hot, cold, 30} : Rgb{30, cold, hot};
}

class Image {
 public:
  Image() : pixels_(kWidth * kHeight, kBackground) {}
  void Set(int x, int y, Rgb c) {
    if (x >= 0 && x < kWidth && y >= 0 && y < kHeight) {
      pixels_[y * kWidth + x] = c;
    }
  }
  [[nodiscard]] std::string Png() const;

 private:
  std::vector<Rgb> pixels_;
};

void Chunk(std::string* out, const char* type, const std::string& data) {
  auto be32 = [&](uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) out->push_back(char(v >> s));
  };
  be32(static_cast<uint32_t>(data.size()));
  const std::string typed = std::string(type, 4) + data;
  out->append(typed);
  be32(crc32(0, reinterpret_cast<const Bytef*>(typed.data()),
             static_cast<uInt>(typed.size())));
}

std::string Image::Png() const {
  std::string raw;
  raw.reserve(kHeight * (1 + 3 * kWidth));
  for (int y = 0; y < kHeight; ++y) {
    raw.push_back(0);  // Filter: none.
    for (int x = 0; x < kWidth; ++x) {
      const Rgb& c = pixels_[y * kWidth + x];
      raw.append(reinterpret_cast<const char*>(c.data()), 3);
    }
  }
  uLongf size = compressBound(raw.size());
  std::string packed(size, '\0');
  compress2(reinterpret_cast<Bytef*>(packed.data()), &size,
            reinterpret_cast<const Bytef*>(raw.data()), raw.size(), 6);
  packed.resize(size);
  std::string out = "\x89PNG\r\n\x1a\n";
  std::string header;
  for (uint32_t v : {uint32_t(kWidth), uint32_t(kHeight)}) {
    for (int s = 24; s >= 0; s -= 8) header.push_back(char(v >> s));
  }
  header += std::string("\x08\x02\x00\x00\x00", 5);  // 8-bit RGB.
  Chunk(&out, "IHDR", header);
  Chunk(&out, "IDAT", packed);
  Chunk(&out, "IEND", "");
  return out;
}

// Projects onto the view's image plane: (u, v, depth).
Vec3 Project(const Vec3& p, int view) {
  switch (view) {
    case 0:
      return {p.x, p.y, p.z};  // From +z looking down.
    case 1:
      return {p.x, p.z, -p.y};  // From -y.
    default:
      return {p.y, p.z, p.x};  // From +x.
  }
}

void DrawViews(const Mesh& mesh, const std::vector<double>& d, double tolerance,
               Image* image) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  for (int view = 0; view < 3; ++view) {
    Vec3 lo{kInf, kInf, kInf}, hi{-kInf, -kInf, -kInf};
    for (const auto& v : mesh.vertices) {
      const Vec3 p = Project(v, view);
      lo = {std::min(lo.x, p.x), std::min(lo.y, p.y), 0};
      hi = {std::max(hi.x, p.x), std::max(hi.y, p.y), 0};
    }
    const double span = std::max({hi.x - lo.x, hi.y - lo.y, 1e-9});
    const double scale = (kView - 20) / span;
    const double ox = view * kView + kView / 2.0, oy = kView / 2.0;
    const Vec3 mid = (lo + hi) * 0.5;
    std::vector<double> depth(kView * kView, -kInf);
    for (size_t t = 0; t < mesh.triangles.size(); ++t) {
      Vec3 s[3];
      double dist = 0;
      for (int k = 0; k < 3; ++k) {
        const Vec3 p = Project(mesh.Corner(t, k), view);
        s[k] = {ox + (p.x - mid.x) * scale, oy - (p.y - mid.y) * scale, p.z};
        dist += d[mesh.triangles[t][k]] / 3;
      }
      const double area = (s[1].x - s[0].x) * (s[2].y - s[0].y) -
                          (s[2].x - s[0].x) * (s[1].y - s[0].y);
      if (std::abs(area) < 1e-12) continue;
      // Flat shading by how much the triangle faces the viewer.
      const Vec3 n = Normalized(Cross(
          Project(mesh.Corner(t, 1), view) - Project(mesh.Corner(t, 0), view),
          Project(mesh.Corner(t, 2), view) - Project(mesh.Corner(t, 0), view)));
      const double light = 0.45 + 0.55 * std::abs(n.z);
      Rgb c = Colour(dist, tolerance);
      for (auto& ch : c) ch = static_cast<uint8_t>(ch * light);
      const int x0 = std::max<int>(
          view * kView, std::floor(std::min({s[0].x, s[1].x, s[2].x})));
      const int x1 =
          std::min<int>(view * kView + kView - 1,
                        std::ceil(std::max({s[0].x, s[1].x, s[2].x})));
      const int y0 =
          std::max<int>(0, std::floor(std::min({s[0].y, s[1].y, s[2].y})));
      const int y1 = std::min<int>(
          kView - 1, std::ceil(std::max({s[0].y, s[1].y, s[2].y})));
      for (int y = y0; y <= y1; ++y) {
        for (int x = x0; x <= x1; ++x) {
          const double px = x + 0.5, py = y + 0.5;
          const double w0 =
              ((s[1].x - px) * (s[2].y - py) - (s[2].x - px) * (s[1].y - py)) /
              area;
          const double w1 =
              ((s[2].x - px) * (s[0].y - py) - (s[0].x - px) * (s[2].y - py)) /
              area;
          const double w2 = 1 - w0 - w1;
          if (w0 < 0 || w1 < 0 || w2 < 0) continue;
          const double z = w0 * s[0].z + w1 * s[1].z + w2 * s[2].z;
          double& best = depth[y * kView + (x - view * kView)];
          if (z <= best) continue;
          best = z;
          image->Set(x, y, c);
        }
      }
    }
  }
}

void DrawScale(const Mesh& mesh, const std::vector<double>& d, double tolerance,
               Image* image) {
  const int left = 40, right = kWidth - 40, width = right - left;
  auto x_of = [&](double v) {
    return left + static_cast<int>((v / (6 * tolerance) + 0.5) * width);
  };
  for (int x = left; x < right; ++x) {
    const double v = ((x - left) / double(width) - 0.5) * 6 * tolerance;
    for (int y = kView + 10; y < kView + 30; ++y)
      image->Set(x, y, Colour(v, tolerance));
  }
  for (double tick : {-tolerance, 0.0, tolerance}) {
    for (int y = kView + 4; y < kView + 36; ++y)
      image->Set(x_of(tick), y, {0, 0, 0});
  }
  // Area-weighted histogram, 100 bins over -3..+3 tolerances.
  const std::vector<double> areas = VertexAreas(mesh);
  std::array<double, 100> bins{};
  for (size_t i = 0; i < d.size() && i < areas.size(); ++i) {
    const double f = std::clamp(d[i] / (6 * tolerance) + 0.5, 0.0, 0.9999);
    bins[static_cast<size_t>(f * bins.size())] += areas[i];
  }
  const double peak =
      std::max(*std::max_element(bins.begin(), bins.end()), 1e-12);
  const int base = kHeight - 10, bin_width = width / 100;
  const int bin_count = static_cast<int>(bins.size());
  for (int b = 0; b < bin_count; ++b) {
    const int h = static_cast<int>(bins[b] / peak * (kHistogram - 30));
    const double v = ((b + 0.5) / bins.size() - 0.5) * 6 * tolerance;
    for (int x = left + b * bin_width; x < left + (b + 1) * bin_width - 1;
         ++x) {
      for (int y = base - h; y < base; ++y)
        image->Set(x, y, Colour(v, tolerance));
    }
  }
  for (int x = left; x < right; ++x) image->Set(x, base, {0, 0, 0});
}

}  // namespace

std::string HeatmapPng(const Mesh& mesh, const std::vector<double>& distances,
                       double tolerance) {
  Image image;
  std::vector<double> d = distances;
  d.resize(mesh.vertices.size(), 0.0);
  DrawViews(mesh, d, tolerance, &image);
  DrawScale(mesh, d, tolerance, &image);
  return image.Png();
}

}  // namespace loupe::geometry
