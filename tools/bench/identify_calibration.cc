// Identification's error rates at a registry size the registry benchmark
// (identify_bench) takes hours to fill: the cascade of
// server/registry/identification.cc without the registry around it. The
// same signature index (SignatureIndex), the same four verified meshes
// (geometry::Verify), the same thresholds and decision (Decide); every
// mesh through binary STL as in the registry, twins rebuilt from their
// seed instead of read from storage.
//   TWINS generated rings indexed; SCANS scans of registered pieces (top-1)
//   and SCANS of pieces never registered (false identifications). Prints
//   the figures, each miss and false identification, and the share
//   distributions of true matches and of the best non-match. FIRST skips
//   that many scans of each kind: scans 0-83 chose the thresholds, later
//   ones test them.
// Usage: identify_calibration [TWINS SCANS [FIRST]] (default 1000 84 0).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "geometry/deviation.h"
#include "geometry/distance.h"
#include "geometry/identify.h"
#include "geometry/read_mesh.h"
#include "geometry/signature.h"
#include "server/registry/identification.h"
#include "server/registry/signature_index.h"
#include "tools/gen/piece_gen.h"

namespace loupe {
namespace {

// As identify_bench's twins: ~0.35 mm facets.
const gen::Resolution kTwinResolution{0.35, 0.3, 0};

geometry::Mesh ViaStl(const geometry::Mesh& mesh) {
  return geometry::ParseMesh(gen::StlBinary(mesh), "x.stl")->mesh;
}

geometry::Mesh Twin(int i) {
  return ViaStl(gen::BuildPiece(gen::RandomPiece(i), kTwinResolution));
}

// The signature as the index holds it after a round trip through storage
// (one byte per descriptor bin).
geometry::ShapeSignature Stored(geometry::ShapeSignature s) {
  if (!geometry::UnpackDescriptor(geometry::PackDescriptor(s.descriptor),
                                  &s.descriptor)) {
    std::abort();
  }
  return s;
}

// The identification of `scan` among the indexed twins (piece ids "i").
v1::Identification Identify(const server::SignatureIndex& index,
                            const geometry::Mesh& scan,
                            const server::IdentifyThresholds& t) {
  v1::Identification out;
  out.set_tolerance_mm(t.default_tolerance_mm);
  auto sig = geometry::ComputeSignature(scan);
  if (!sig.ok()) {
    out.set_verdict("REFUSED");
    return out;
  }
  const geometry::ShapeSignature scan_sig = Stored(*sig);
  const std::vector<double> areas = geometry::VertexAreas(scan);
  for (const auto& hit : index.Nearest(scan_sig, t.verified_assets)) {
    const geometry::Mesh twin = Twin(std::stoi(hit.twin.piece_id));
    const geometry::MeshDistance distance(twin);
    const geometry::Verification v =
        geometry::Verify(scan, areas, sig->frame, twin, distance,
                         hit.twin.frame, t.default_tolerance_mm, 2);
    v1::IdentificationCandidate* c = out.add_candidates();
    c->set_piece_id(hit.twin.piece_id);
    c->set_version(hit.twin.version);
    c->set_within_tolerance(v.within_tolerance);
    c->set_rms_mm(v.rms_mm);
    c->set_passes(server::Passes(t, v));
  }
  server::Decide(t, &out);
  return out;
}

void PrintQuantiles(const char* what, std::vector<double> v) {
  if (v.empty()) return;
  std::sort(v.begin(), v.end());
  auto q = [&](double p) {
    return v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))];
  };
  std::printf("  %s (n=%zu): min %.3f  median %.3f  p99 %.3f  max %.3f\n", what,
              v.size(), v.front(), q(0.5), q(0.99), v.back());
}

int Run(int twins, int scans, int first) {
  server::SignatureIndex index;
  for (int i = 0; i < twins; ++i) {
    auto sig = geometry::ComputeSignature(Twin(i));
    if (!sig.ok()) continue;
    index.AddSignature({std::to_string(i), 1, std::to_string(i), sig->frame},
                       Stored(*sig));
    if ((i + 1) % 250 == 0) {
      std::fprintf(stderr, "indexed %d twins\n", i + 1);
    }
  }
  const server::IdentifyThresholds t;
  int top1 = 0, false_ids = 0;
  std::vector<double> true_shares, best_non;
  std::mt19937_64 pick(42);
  for (int s = 0; s < first + scans; ++s) {
    const int i = static_cast<int>(pick() % twins);
    if (s < first) continue;
    gen::ScanOptions o;
    o.seed = 100 + s;
    o.target_points = 40000;
    const auto r =
        Identify(index, ViaStl(gen::SimulateScan(gen::RandomPiece(i), o)), t);
    const bool right = r.verdict() == "IDENTIFIED" &&
                       r.matches(0).piece_id() == std::to_string(i);
    top1 += right;
    for (const auto& c : r.candidates()) {
      if (c.piece_id() == std::to_string(i)) {
        true_shares.push_back(c.within_tolerance());
        break;
      }
    }
    if (!right) std::printf("  miss: twin %d -> %s\n", i, r.verdict().c_str());

    gen::ScanOptions u;
    u.seed = 200 + s;
    u.target_points = 40000;
    const auto n = Identify(
        index, ViaStl(gen::SimulateScan(gen::RandomPiece(9'000'000 + s), u)),
        t);
    best_non.push_back(
        n.candidates_size() > 0 ? n.candidates(0).within_tolerance() : 0);
    if (n.matches_size() > 0) {
      ++false_ids;
      std::printf("  false: unregistered %d -> %s twin %s (%.3f, rms %.3f)\n",
                  9'000'000 + s, n.verdict().c_str(),
                  n.matches(0).piece_id().c_str(),
                  n.matches(0).within_tolerance(), n.matches(0).rms_mm());
    }
    std::fflush(stdout);
  }
  std::printf("identification at %d twins (the cascade without the registry)\n",
              twins);
  std::printf("  top-1 distinct pieces: %d / %d = %.1f %% (target >= 99 %%)\n",
              top1, scans, 100.0 * top1 / std::max(1, scans));
  std::printf(
      "  false identifications of unregistered pieces: %d / %d "
      "(target 0)\n",
      false_ids, scans);
  PrintQuantiles("true-match shares", true_shares);
  PrintQuantiles("best non-match shares", best_non);
  return 0;
}

}  // namespace
}  // namespace loupe

int main(int argc, char** argv) {
  if (argc != 1 && argc != 3 && argc != 4) {
    std::fprintf(stderr, "usage: identify_calibration [TWINS SCANS [FIRST]]\n");
    return 2;
  }
  const int twins = argc >= 3 ? std::atoi(argv[1]) : 1000;
  const int scans = argc >= 3 ? std::atoi(argv[2]) : 84;
  const int first = argc == 4 ? std::atoi(argv[3]) : 0;
  if (twins < 1 || scans < 1 || first < 0) {
    std::fprintf(stderr, "usage: identify_calibration [TWINS SCANS [FIRST]]\n");
    return 2;
  }
  return loupe::Run(twins, scans, first);
}
