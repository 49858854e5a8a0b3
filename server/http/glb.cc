#include "server/http/glb.h"

#include <tiny_gltf.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <sstream>

#include "base/str_cat.h"

namespace loupe::server::http {
namespace {

// Metal colours (linear RGB, the usual physically based values), looked up
// by a word of the alloy text; the first match wins.
struct NamedColour {
  std::string_view word;
  MetalColour colour;
};
constexpr NamedColour kMetals[] = {
    {"rose", {0.944, 0.776, 0.373}},      {"red", {0.944, 0.776, 0.373}},
    {"white", {0.80, 0.79, 0.76}},        {"pt", {0.672, 0.637, 0.585}},
    {"platinum", {0.672, 0.637, 0.585}},  {"pd", {0.733, 0.697, 0.652}},
    {"palladium", {0.733, 0.697, 0.652}}, {"silver", {0.972, 0.960, 0.915}},
    {"sterling", {0.972, 0.960, 0.915}},
};
constexpr MetalColour kYellowGold = {1.0, 0.766, 0.336};

template <typename T>
T Get(std::string_view bytes, size_t offset) {
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}

void Append(std::vector<unsigned char>* out, const void* data, size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  out->insert(out->end(), p, p + n);
}

}  // namespace

MetalColour MetalColourOf(std::string_view alloy) {
  std::string lower(alloy);
  for (char& c : lower) c = static_cast<char>(std::tolower(c));
  for (const auto& m : kMetals) {
    if (lower.find(m.word) != std::string::npos) return m.colour;
  }
  return kYellowGold;
}

absl::StatusOr<std::string> PreviewToGlb(std::string_view lpv1,
                                         MetalColour colour) {
  if (lpv1.size() < 12 || lpv1.substr(0, 4) != "LPV1") {
    return absl::InvalidArgumentError("preview: not an LPV1 buffer");
  }
  const uint64_t n = Get<uint32_t>(lpv1, 4), m = Get<uint32_t>(lpv1, 8);
  if (n == 0 || m == 0 || lpv1.size() != 12 + 12 * n + 12 * m) {
    return absl::InvalidArgumentError(StrCat("preview: ", lpv1.size(),
                                             " bytes for ", n, " vertices and ",
                                             m, " triangles"));
  }
  // Positions in metres; normals: the area-weighted sum of the faces'.
  std::vector<float> pos(3 * n), normal(3 * n, 0.0f);
  for (size_t i = 0; i < 3 * n; ++i) {
    pos[i] = Get<float>(lpv1, 12 + 4 * i) / 1000.0f;
  }
  std::vector<uint32_t> index(3 * m);
  for (size_t i = 0; i < 3 * m; ++i) {
    index[i] = Get<uint32_t>(lpv1, 12 + 12 * n + 4 * i);
    if (index[i] >= n) {
      return absl::InvalidArgumentError(StrCat(
          "preview: triangle ", i / 3, " names vertex ", index[i], " of ", n));
    }
  }
  for (size_t t = 0; t < m; ++t) {
    const float* a = &pos[3 * index[3 * t]];
    const float* b = &pos[3 * index[3 * t + 1]];
    const float* c = &pos[3 * index[3 * t + 2]];
    const float u[3] = {b[0] - a[0], b[1] - a[1], b[2] - a[2]};
    const float v[3] = {c[0] - a[0], c[1] - a[1], c[2] - a[2]};
    const float f[3] = {u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2],
                        u[0] * v[1] - u[1] * v[0]};
    for (int k = 0; k < 3; ++k) {
      for (int d = 0; d < 3; ++d) normal[3 * index[3 * t + k] + d] += f[d];
    }
  }
  float lo[3] = {pos[0], pos[1], pos[2]}, hi[3] = {pos[0], pos[1], pos[2]};
  for (size_t i = 0; i < n; ++i) {
    float* v = &normal[3 * i];
    const float len = std::sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
    // An isolated or degenerate vertex still needs a unit normal.
    if (len > 0) {
      for (int d = 0; d < 3; ++d) v[d] /= len;
    } else {
      v[0] = 0, v[1] = 0, v[2] = 1;
    }
    for (int d = 0; d < 3; ++d) {
      lo[d] = std::min(lo[d], pos[3 * i + d]);
      hi[d] = std::max(hi[d], pos[3 * i + d]);
    }
  }

  tinygltf::Model model;
  model.asset.version = "2.0";
  model.asset.generator = "Loupe registry (decimated preview)";
  tinygltf::Buffer buffer;
  Append(&buffer.data, pos.data(), 4 * pos.size());
  Append(&buffer.data, normal.data(), 4 * normal.size());
  Append(&buffer.data, index.data(), 4 * index.size());
  model.buffers.push_back(std::move(buffer));
  const size_t attribute_bytes = 12 * n;
  for (int i = 0; i < 3; ++i) {
    tinygltf::BufferView view;
    view.buffer = 0;
    view.byteOffset = i * attribute_bytes;
    view.byteLength = i < 2 ? attribute_bytes : 12 * m;
    view.target = i < 2 ? TINYGLTF_TARGET_ARRAY_BUFFER
                        : TINYGLTF_TARGET_ELEMENT_ARRAY_BUFFER;
    model.bufferViews.push_back(view);
  }
  tinygltf::Accessor position;
  position.bufferView = 0;
  position.componentType = TINYGLTF_COMPONENT_TYPE_FLOAT;
  position.count = n;
  position.type = TINYGLTF_TYPE_VEC3;
  position.minValues = {lo[0], lo[1], lo[2]};  // Required for POSITION.
  position.maxValues = {hi[0], hi[1], hi[2]};
  tinygltf::Accessor normals = position;
  normals.bufferView = 1;
  normals.minValues.clear();
  normals.maxValues.clear();
  tinygltf::Accessor indices;
  indices.bufferView = 2;
  indices.componentType = TINYGLTF_COMPONENT_TYPE_UNSIGNED_INT;
  indices.count = 3 * m;
  indices.type = TINYGLTF_TYPE_SCALAR;
  model.accessors = {position, normals, indices};

  tinygltf::Material metal;
  metal.name = "metal";
  metal.pbrMetallicRoughness.baseColorFactor = {colour.r, colour.g, colour.b,
                                                1.0};
  metal.pbrMetallicRoughness.metallicFactor = 1.0;
  metal.pbrMetallicRoughness.roughnessFactor = 0.3;
  model.materials.push_back(metal);
  tinygltf::Primitive primitive;
  primitive.attributes = {{"POSITION", 0}, {"NORMAL", 1}};
  primitive.indices = 2;
  primitive.material = 0;
  primitive.mode = TINYGLTF_MODE_TRIANGLES;
  tinygltf::Mesh mesh;
  mesh.name = "piece";
  mesh.primitives.push_back(primitive);
  model.meshes.push_back(mesh);
  tinygltf::Node node;
  node.mesh = 0;
  node.name = "piece";
  model.nodes.push_back(node);
  tinygltf::Scene scene;
  scene.nodes = {0};
  model.scenes.push_back(scene);
  model.defaultScene = 0;

  std::ostringstream out;
  tinygltf::TinyGLTF writer;
  if (!writer.WriteGltfSceneToStream(&model, out, false, true)) {
    return absl::InternalError("preview: tinygltf could not write the GLB");
  }
  return out.str();
}

}  // namespace loupe::server::http
