// gen_pieces: writes synthetic pieces and simulated scans as binary STL
// (tools/gen/piece_gen.h), deterministic by seed.
//
//   gen_pieces piece SEED OUT.stl [--resized]
//   gen_pieces scan SEED OUT.stl [--scan-seed N] [--points N] [--resized]
//                                [--noise MM] [--coverage SHARE]
// Exit 0 ok, 1 failed, 2 usage.

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "tools/gen/piece_gen.h"

namespace {

int Usage() {
  std::fprintf(stderr,
               "usage: gen_pieces piece|scan SEED OUT.stl [--resized] "
               "[--scan-seed N] [--points N] [--noise MM] [--coverage S]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) return Usage();
  const std::string what = argv[1];
  if (what != "piece" && what != "scan") return Usage();
  char* end = nullptr;
  const uint64_t seed = std::strtoull(argv[2], &end, 10);
  if (*end != '\0') return Usage();
  loupe::gen::ScanOptions scan;
  scan.seed = seed;
  bool resized = false;
  for (int i = 4; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--resized") {
      resized = true;
      continue;
    }
    if (i + 1 >= argc) return Usage();
    const double value = std::atof(argv[++i]);
    if (flag == "--scan-seed") {
      scan.seed = static_cast<uint64_t>(value);
    } else if (flag == "--points") {
      scan.target_points = static_cast<size_t>(value);
    } else if (flag == "--noise") {
      scan.noise_mm = value;
    } else if (flag == "--coverage") {
      scan.coverage = value;
    } else {
      return Usage();
    }
  }
  loupe::gen::PieceSpec spec = loupe::gen::RandomPiece(seed);
  if (resized) spec = loupe::gen::Resized(spec);
  const auto mesh = what == "piece" ? loupe::gen::BuildPiece(spec)
                                    : loupe::gen::SimulateScan(spec, scan);
  std::ofstream out(argv[3], std::ios::binary);
  out << loupe::gen::StlBinary(mesh);
  if (!out.flush()) {
    std::fprintf(stderr, "gen_pieces: cannot write %s\n", argv[3]);
    return 1;
  }
  return 0;
}
