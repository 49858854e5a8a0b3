#include "server/http/glb.h"

#include <gtest/gtest.h>
#include <tiny_gltf.h>

#include <cstring>

namespace loupe::server::http {
namespace {

template <typename T>
void Put(std::string* out, T v) {
  char raw[sizeof(T)];
  std::memcpy(raw, &v, sizeof(T));
  out->append(raw, sizeof(T));
}

// A tetrahedron in millimetres, as the preview cache writes it (LPV1).
std::string Tetrahedron() {
  std::string out = "LPV1";
  Put<uint32_t>(&out, 4);
  Put<uint32_t>(&out, 4);
  const float v[] = {0, 0, 0, 10, 0, 0, 0, 10, 0, 0, 0, 10};
  for (float f : v) Put<float>(&out, f);
  const uint32_t t[] = {0, 2, 1, 0, 1, 3, 0, 3, 2, 1, 2, 3};
  for (uint32_t i : t) Put<uint32_t>(&out, i);
  return out;
}

TEST(Glb, WritesAGlbInMetresThatTinygltfReadsBack) {
  auto glb = PreviewToGlb(Tetrahedron(), MetalColourOf("18k rose gold"));
  ASSERT_TRUE(glb.ok()) << glb.status();
  ASSERT_GE(glb->size(), 20u);
  EXPECT_EQ(glb->substr(0, 4), "glTF");
  uint32_t version, length;
  std::memcpy(&version, glb->data() + 4, 4);
  std::memcpy(&length, glb->data() + 8, 4);
  EXPECT_EQ(version, 2u);
  EXPECT_EQ(length, glb->size());

  tinygltf::Model model;
  tinygltf::TinyGLTF reader;
  std::string error, warning;
  ASSERT_TRUE(reader.LoadBinaryFromMemory(
      &model, &error, &warning,
      reinterpret_cast<const unsigned char*>(glb->data()), glb->size()))
      << error;
  ASSERT_EQ(model.meshes.size(), 1u);
  const auto& primitive = model.meshes[0].primitives[0];
  ASSERT_TRUE(primitive.attributes.contains("NORMAL"));
  const auto& position = model.accessors[primitive.attributes.at("POSITION")];
  EXPECT_EQ(position.count, 4u);
  EXPECT_FLOAT_EQ(position.maxValues[0], 0.01);  // 10 mm.
  EXPECT_EQ(model.accessors[primitive.indices].count, 12u);
  const auto& colour = model.materials[0].pbrMetallicRoughness.baseColorFactor;
  EXPECT_DOUBLE_EQ(colour[2], MetalColourOf("18k rose gold").b);
  EXPECT_NE(colour[2], MetalColourOf("").b);  // Rose, not yellow.
}

TEST(Glb, RefusesMalformedPreviews) {
  std::string truncated = Tetrahedron();
  truncated.pop_back();
  EXPECT_EQ(PreviewToGlb(truncated).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PreviewToGlb("LPV2").status().code(),
            absl::StatusCode::kInvalidArgument);
  std::string bad_corner = Tetrahedron();
  const uint32_t nine = 9;
  std::memcpy(bad_corner.data() + bad_corner.size() - 4, &nine, 4);
  auto refused = PreviewToGlb(bad_corner);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("vertex 9"), std::string::npos);
}

TEST(Glb, MetalColoursFollowTheAlloy) {
  EXPECT_NE(MetalColourOf("18k white gold").b, MetalColourOf("18k").b);
  EXPECT_EQ(MetalColourOf("platinum 950").r, MetalColourOf("PT950").r);
  EXPECT_EQ(MetalColourOf("").g, MetalColourOf("22k yellow gold").g);
}

}  // namespace
}  // namespace loupe::server::http
