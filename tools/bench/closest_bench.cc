// Closest-point queries per second on one core (geometry/distance.h):
// reads a twin mesh and a file of query points (any mesh file; its
// vertices), answers every query once on one thread, prints the rate.
// Usage: closest_bench TWIN_FILE POINTS_FILE
#include <chrono>
#include <cstdio>

#include "geometry/distance.h"
#include "geometry/read_mesh.h"

int main(int argc, char** argv) {
  using namespace loupe::geometry;
  if (argc != 3) {
    std::fprintf(stderr, "usage: closest_bench TWIN_FILE POINTS_FILE\n");
    return 2;
  }
  auto twin = ReadMeshFile(argv[1]);
  auto points = ReadMeshFile(argv[2]);
  if (!twin.ok() || !points.ok()) {
    std::fprintf(stderr, "cannot read the inputs\n");
    return 1;
  }
  const MeshDistance distance(twin->mesh);
  const auto start = std::chrono::steady_clock::now();
  double sum = 0;
  for (const auto& p : points->mesh.vertices) {
    sum += distance.Closest(p).distance;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  std::printf(
      "{\"queries\": %zu, \"seconds\": %.6f, \"per_second\": %.0f, "
      "\"mean_distance\": %.9f}\n",
      points->mesh.vertices.size(), seconds,
      points->mesh.vertices.size() / seconds,
      sum / points->mesh.vertices.size());
  return 0;
}
