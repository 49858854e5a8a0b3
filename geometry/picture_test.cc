#include "geometry/picture.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include "geometry/test_meshes.h"

namespace loupe::geometry {
namespace {

uint32_t Be32(const std::string& s, size_t at) {
  return uint32_t(uint8_t(s[at])) << 24 | uint32_t(uint8_t(s[at + 1])) << 16 |
         uint32_t(uint8_t(s[at + 2])) << 8 | uint8_t(s[at + 3]);
}

// Checks the PNG's structure and CRCs; returns its RGB rows (with the
// filter byte) and the size.
std::string Decode(const std::string& png, uint32_t* width, uint32_t* height) {
  EXPECT_EQ(png.substr(0, 8), "\x89PNG\r\n\x1a\n");
  std::string idat;
  for (size_t at = 8; at + 12 <= png.size();) {
    const uint32_t length = Be32(png, at);
    const std::string typed = png.substr(at + 4, 4 + length);
    EXPECT_EQ(
        Be32(png, at + 8 + length),
        crc32(0, reinterpret_cast<const Bytef*>(typed.data()), typed.size()))
        << typed.substr(0, 4);
    if (typed.substr(0, 4) == "IHDR") {
      *width = Be32(typed, 4);
      *height = Be32(typed, 8);
    }
    if (typed.substr(0, 4) == "IDAT") idat += typed.substr(4);
    at += 12 + length;
  }
  uLongf size = *height * (1 + 3 * *width);
  std::string raw(size, '\0');
  EXPECT_EQ(
      uncompress(reinterpret_cast<Bytef*>(raw.data()), &size,
                 reinterpret_cast<const Bytef*>(idat.data()), idat.size()),
      Z_OK);
  EXPECT_EQ(size, raw.size());
  return raw;
}

TEST(PictureTest, AValidPngWithTheViewsAndTheDent) {
  testing::BandSpec spec;
  spec.height_segments = 8;
  const Mesh band = testing::Band(spec);
  std::vector<double> d(band.vertices.size(), 0.0);
  size_t dented = 0;
  for (size_t i = 0; i < band.vertices.size(); ++i) {
    if (band.vertices[i].x > 9.5 && std::abs(band.vertices[i].y) < 2) {
      d[i] = -0.2;  // Missing material: blue.
      ++dented;
    }
  }
  ASSERT_GT(dented, 0u);
  uint32_t w = 0, h = 0;
  const std::string raw = Decode(HeatmapPng(band, d, 0.05), &w, &h);
  ASSERT_EQ(w, 1200u);
  int drawn = 0, blue = 0, green = 0;
  for (uint32_t y = 0; y < 400; ++y) {
    for (uint32_t x = 0; x < 400; ++x) {  // The view from above.
      const auto* p = reinterpret_cast<const uint8_t*>(raw.data()) +
                      y * (1 + 3 * w) + 1 + 3 * x;
      if (p[0] == 245 && p[1] == 245 && p[2] == 245) continue;
      ++drawn;
      blue += p[2] > p[0] + 60;
      green += p[1] > p[0] + 60 && p[1] > p[2] + 60;
    }
  }
  EXPECT_GT(drawn, 400 * 400 / 10);  // The band is there, not a blank.
  EXPECT_GT(green, drawn / 2);
  EXPECT_GT(blue, 10);  // And the dent shows.
}

}  // namespace
}  // namespace loupe::geometry
