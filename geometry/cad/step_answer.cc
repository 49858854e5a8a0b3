#include "geometry/cad/step_answer.h"

#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

namespace loupe::geometry::cad {
namespace {

bool WriteAll(int fd, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

void WriteStepAnswer(int fd, const absl::StatusOr<Mesh>& mesh) {
  const int32_t code = static_cast<int32_t>(mesh.status().code());
  if (!WriteAll(fd, &code, sizeof code)) return;
  if (!mesh.ok()) {
    const std::string message(mesh.status().message());
    const uint64_t n = message.size();
    if (WriteAll(fd, &n, sizeof n)) WriteAll(fd, message.data(), n);
    return;
  }
  const uint64_t counts[2] = {mesh->vertices.size(), mesh->triangles.size()};
  if (!WriteAll(fd, counts, sizeof counts)) return;
  if (!WriteAll(fd, mesh->vertices.data(), counts[0] * sizeof(Vec3))) return;
  WriteAll(fd, mesh->triangles.data(), counts[1] * sizeof(Triangle));
}

absl::StatusOr<Mesh> ParseStepAnswer(std::string_view a) {
  auto take = [&a](void* out, size_t n) {
    if (a.size() < n) return false;
    std::memcpy(out, a.data(), n);
    a.remove_prefix(n);
    return true;
  };
  int32_t code = 0;
  uint64_t n[2] = {0, 0};
  if (!take(&code, sizeof code) || !take(n, code == 0 ? 16 : 8)) {
    return absl::InternalError("STEP: the reader program answered nothing");
  }
  if (code != 0) {
    if (a.size() != n[0]) {
      return absl::InternalError("STEP: the reader program's answer is cut");
    }
    return absl::Status(static_cast<absl::StatusCode>(code), std::string(a));
  }
  if (n[0] > a.size() / sizeof(Vec3) ||
      a.size() != n[0] * sizeof(Vec3) + n[1] * sizeof(Triangle)) {
    return absl::InternalError("STEP: the reader program's answer is cut");
  }
  Mesh mesh;
  mesh.vertices.resize(n[0]);
  mesh.triangles.resize(n[1]);
  take(mesh.vertices.data(), n[0] * sizeof(Vec3));
  take(mesh.triangles.data(), n[1] * sizeof(Triangle));
  return mesh;
}

}  // namespace loupe::geometry::cad
