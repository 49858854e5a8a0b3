// Closest-point queries per second on one core (geometry/distance.h):
// reads a twin mesh and a file of query points (any mesh file; its
// vertices), answers every query on one thread, each on its own and then
// in file order from the previous answer, and prints both rates.
// Usage: closest_bench TWIN_FILE POINTS_FILE
#include <chrono>
#include <cmath>
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
  auto query_mesh = ReadMeshFile(argv[2]);
  if (!twin.ok() || !query_mesh.ok()) {
    std::fprintf(stderr, "cannot read the inputs\n");
    return 1;
  }
  const MeshDistance distance(twin->mesh);
  const auto& points = query_mesh->mesh.vertices;
  // Each query on its own, then in the file's order starting each from
  // the previous answer (what a deviation pass over a scan does).
  auto start = std::chrono::steady_clock::now();
  double sum = 0;
  for (const auto& p : points) sum += distance.Closest(p).distance;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  start = std::chrono::steady_clock::now();
  double hinted_sum = 0;
  uint32_t hint = 0;
  for (const auto& p : points) {
    const ClosestPoint c = distance.ClosestNear(p, hint);
    hinted_sum += c.distance;
    hint = c.triangle;
  }
  const double hinted_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  if (std::abs(hinted_sum - sum) > 1e-9 * points.size()) {
    std::fprintf(stderr, "the two passes disagree: %.12f vs %.12f\n", sum,
                 hinted_sum);
    return 1;
  }
  std::printf(
      "{\"queries\": %zu, \"seconds\": %.6f, \"per_second\": %.0f, "
      "\"hinted_per_second\": %.0f, \"mean_distance\": %.9f}\n",
      points.size(), seconds, points.size() / seconds,
      points.size() / hinted_seconds, sum / points.size());
  return 0;
}
