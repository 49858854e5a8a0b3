// Identification benchmark (issue 19), each figure beside its anchor
// measured in the same run:
//   1. Accuracy through the real registry (loupe-server, gRPC): TWINS
//      distinct generated rings registered, GROUPS groups of three cast
//      from one CAD file, RESIZED pieces with a resize recorded as
//      version 2; then SCANS simulated scans of registered pieces (top-1),
//      a scan of each group (CONSISTENT_WITH_SEVERAL with all members),
//      a scan of each resized piece (right piece, version 2) and SCANS
//      scans of pieces never registered (false identifications). Prints
//      the score distributions of matches and non-matches and the margin
//      of the acceptance threshold.
//   2. The candidate stage over INDEX signatures (real signatures of
//      generated rings, replicated with jitter up to the count): ms per
//      query. Target < 50 ms at 100,000.
//   3. A whole identification of a 200,000-point scan through the RPC
//      (verification included), against the naive anchor: the existing
//      aligner's time for that scan against one twin times the count of
//      twins (TWINS and 100,000). Target < 2 s.
// Usage: identify_bench [TWINS SCANS GROUPS RESIZED INDEX]
// (default 10000 1000 20 20 100000; tools/test.sh runs it small).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "geometry/align.h"
#include "geometry/distance.h"
#include "geometry/measure.h"
#include "geometry/read_mesh.h"
#include "geometry/signature.h"
#include "server/registry/identification.h"
#include "server/registry/signature_index.h"
#include "tests/test_server.h"
#include "tests/test_util.h"
#include "tools/gen/piece_gen.h"

namespace loupe::bench {
namespace {

using Clock = std::chrono::steady_clock;
using testing::kAurumToken;
using testing::kBenchToken;

double Ms(Clock::time_point since) {
  return std::chrono::duration<double, std::milli>(Clock::now() - since)
      .count();
}

// Twins are meshed a little coarser than BuildPiece's default (0.35 mm
// facets): ~10k triangles, a few hundred kB each.
const gen::Resolution kTwinResolution{0.35, 0.3, 0};

std::string TwinStl(const gen::PieceSpec& spec) {
  return gen::StlBinary(gen::BuildPiece(spec, kTwinResolution));
}

class Registrar {
 public:
  explicit Registrar(testing::TestServer& server)
      : client_(server.Client(kAurumToken)) {}

  v1::AssetRef Upload(const std::string& stl, const std::string& name) {
    v1::UploadAssetHeader header = testing::HeaderFor(stl);
    header.set_file_name(name);
    if (!client_->UploadBytes(header, stl).ok()) std::abort();
    v1::AssetRef a = testing::CadAsset(stl);
    a.set_file_name(name);
    return a;
  }
  std::string Register(const std::string& reference, const v1::AssetRef& a) {
    auto request = testing::PieceRequest("aurum", reference);
    request.mutable_first_version()->set_reason(v1::VERSION_REASON_ORIGINAL);
    *request.mutable_first_version()->add_assets() = a;
    auto piece = client_->CreatePiece(request);
    if (!piece.ok()) {
      std::fprintf(stderr, "register: %s\n", piece.status().ToString().c_str());
      std::abort();
    }
    return piece->id();
  }
  client::RegistryClient& client() { return *client_; }

 private:
  std::unique_ptr<client::RegistryClient> client_;
};

std::string Scan(const gen::PieceSpec& spec, uint64_t seed, size_t points) {
  gen::ScanOptions o;
  o.seed = seed;
  o.target_points = points;
  return gen::StlBinary(gen::SimulateScan(spec, o));
}

void PrintQuantiles(const char* what, std::vector<double> v) {
  if (v.empty()) return;
  std::sort(v.begin(), v.end());
  auto q = [&](double p) {
    return v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))];
  };
  std::printf(
      "  %s (n=%zu): min %.3f  p1 %.3f  p5 %.3f  median %.3f  p95 %.3f  "
      "max %.3f\n",
      what, v.size(), v.front(), q(0.01), q(0.05), q(0.5), q(0.95), v.back());
}

struct Accuracy {
  int top1 = 0, distinct = 0, false_ids = 0, unregistered = 0;
  int groups_ok = 0, groups = 0, resized_ok = 0, resized = 0, refused = 0;
  std::vector<double> match_scores, nonmatch_scores, ms;
};

void RunAccuracy(int twins, int scans, int groups, int resized,
                 std::vector<std::string>* twin_stls) {
  testing::TestServer server;
  server.SetLimits(
      "max_asset_bytes: 268435456 requests_per_second: 1000000 "
      "identifications_per_minute: 1000000");
  if (auto s = server.Start(); !s.ok()) {
    std::fprintf(stderr, "server: %s\n", s.ToString().c_str());
    std::abort();
  }
  Registrar reg(server);
  const auto t0 = Clock::now();
  std::vector<std::string> ids;
  for (int i = 0; i < twins; ++i) {
    const std::string stl = TwinStl(gen::RandomPiece(i));
    if (i < 3) twin_stls->push_back(stl);
    ids.push_back(
        reg.Register("T" + std::to_string(i), reg.Upload(stl, "t.stl")));
    if ((i + 1) % 1000 == 0) {
      std::printf("  registered %d twins (%.0f s)\n", i + 1, Ms(t0) / 1000);
      std::fflush(stdout);
    }
  }
  std::vector<std::set<std::string>> group_ids(groups);
  for (int g = 0; g < groups; ++g) {
    const v1::AssetRef cad =
        reg.Upload(TwinStl(gen::RandomPiece(5'000'000 + g)), "cad.stl");
    for (int k = 0; k < 3; ++k) {
      group_ids[g].insert(
          reg.Register("G" + std::to_string(g) + "-" + std::to_string(k), cad));
    }
  }
  std::vector<std::string> resized_ids;
  for (int r = 0; r < resized; ++r) {
    const gen::PieceSpec spec = gen::RandomPiece(6'000'000 + r);
    resized_ids.push_back(reg.Register("R" + std::to_string(r),
                                       reg.Upload(TwinStl(spec), "r.stl")));
    auto add = testing::VersionRequest(resized_ids.back(), 1,
                                       v1::VERSION_REASON_RESIZE);
    *add.mutable_version()->add_assets() =
        reg.Upload(TwinStl(gen::Resized(spec)), "r2.stl");
    if (!reg.client().AddVersion(add).ok()) std::abort();
  }
  const double register_s = Ms(t0) / 1000;
  auto bench = server.Client(kBenchToken);
  auto identify = [&](const std::string& stl, Accuracy* a) {
    v1::IdentifyPieceHeader header;
    header.set_file_name("scan.stl");
    const auto start = Clock::now();
    auto r = bench->IdentifyPiece(header, stl);
    a->ms.push_back(Ms(start));
    if (!r.ok()) {
      // Counted as an answer that names nothing (a miss for a registered
      // piece, not a false identification).
      std::printf("  refused: %s\n", r.status().ToString().c_str());
      ++a->refused;
      v1::Identification none;
      none.set_verdict("REFUSED");
      return none;
    }
    return *r;
  };
  Accuracy a;
  std::mt19937_64 pick(42);
  for (int s = 0; s < scans; ++s) {
    const int i = static_cast<int>(pick() % twins);
    const auto r = identify(Scan(gen::RandomPiece(i), 100 + s, 40000), &a);
    ++a.distinct;
    const bool right =
        r.verdict() == "IDENTIFIED" && r.matches(0).piece_id() == ids[i];
    a.top1 += right;
    for (const auto& c : r.candidates()) {
      if (c.piece_id() == ids[i]) {
        a.match_scores.push_back(c.within_tolerance());
        break;
      }
    }
    if (!right) {
      std::printf("  miss: twin %d (scan seed %d) -> %s\n", i, 100 + s,
                  r.verdict().c_str());
    }
  }
  for (int u = 0; u < scans; ++u) {
    const auto r =
        identify(Scan(gen::RandomPiece(9'000'000 + u), 200 + u, 40000), &a);
    ++a.unregistered;
    a.false_ids += r.matches_size() > 0;
    a.nonmatch_scores.push_back(
        r.candidates_size() > 0 ? r.candidates(0).within_tolerance() : 0);

    if (r.matches_size() > 0) {
      std::printf("  false: unregistered %d -> %s %s (%.3f)\n", u,
                  r.verdict().c_str(), r.matches(0).piece_id().c_str(),
                  r.matches(0).within_tolerance());
    }
  }
  for (int g = 0; g < groups; ++g) {
    const auto r =
        identify(Scan(gen::RandomPiece(5'000'000 + g), 300 + g, 40000), &a);
    std::set<std::string> named;
    for (const auto& m : r.matches()) named.insert(m.piece_id());
    ++a.groups;
    a.groups_ok +=
        r.verdict() == "CONSISTENT_WITH_SEVERAL" && named == group_ids[g];
  }
  for (int k = 0; k < resized; ++k) {
    const auto r = identify(
        Scan(gen::Resized(gen::RandomPiece(6'000'000 + k)), 400 + k, 40000),
        &a);
    ++a.resized;
    a.resized_ok += r.verdict() == "IDENTIFIED" &&
                    r.matches(0).piece_id() == resized_ids[k] &&
                    r.matches(0).version() == 2;
  }
  const server::IdentifyThresholds t;
  std::printf(
      "accuracy through the registry: %d twins + %d groups of 3 + "
      "%d resized registered in %.0f s\n",
      twins, groups, resized, register_s);
  std::printf("  top-1 distinct pieces: %d / %d = %.2f %% (target >= 99 %%)\n",
              a.top1, a.distinct, 100.0 * a.top1 / std::max(1, a.distinct));
  std::printf(
      "  false identifications of unregistered pieces: %d / %d "
      "(target 0)\n",
      a.false_ids, a.unregistered);
  std::printf(
      "  same-CAD groups answered CONSISTENT_WITH_SEVERAL with all "
      "members: %d / %d\n",
      a.groups_ok, a.groups);
  std::printf("  resized pieces identified at version 2: %d / %d\n",
              a.resized_ok, a.resized);
  PrintQuantiles("match scores (share within 0.1 mm)", a.match_scores);
  PrintQuantiles(
      "best non-match scores (share alone; the envelope check also "
      "applies)",
      a.nonmatch_scores);

  const double lowest_match =
      a.match_scores.empty()
          ? 0
          : *std::min_element(a.match_scores.begin(), a.match_scores.end());
  const double highest_non = a.nonmatch_scores.empty()
                                 ? 0
                                 : *std::max_element(a.nonmatch_scores.begin(),
                                                     a.nonmatch_scores.end());
  std::printf(
      "  threshold %.2f: %.3f above the highest non-match, %.3f "
      "below the lowest match\n",
      t.accept, t.accept - highest_non, lowest_match - t.accept);
  PrintQuantiles("identification ms (40k-point scans)", a.ms);

  // 3. A 200,000-point scan, whole identification through the RPC.
  Accuracy big;
  const gen::PieceSpec spec = gen::RandomPiece(0);
  // About 200,000 vertices once the scanner's misses are cut.
  const std::string scan = Scan(spec, 77, 290000);
  const auto r = identify(scan, &big);
  const geometry::Mesh scan_mesh = geometry::ParseMesh(scan, "s.stl")->mesh;
  const geometry::Mesh twin =
      geometry::ParseMesh((*twin_stls)[0], "t.stl")->mesh;
  const geometry::MeshDistance distance(twin);
  const auto a0 = Clock::now();
  const auto aligned = geometry::Align(scan_mesh, twin, distance);
  const double align_ms = Ms(a0);
  std::printf(
      "whole identification, %zu-point scan: %.0f ms (%s; target < 2000 "
      "ms)\n",
      scan_mesh.vertices.size(), big.ms[0], r.verdict().c_str());
  std::printf(
      "  naive anchor: the aligner against one twin %.0f ms (rms %.3f) x "
      "%d twins = %.0f s (ratio %.0fx); x 100,000 = %.0f s (ratio %.0fx)\n",
      align_ms, aligned.rms_mm, twins, align_ms * twins / 1000,
      align_ms * twins / big.ms[0], align_ms * 100000 / 1000,
      align_ms * 100000 / big.ms[0]);
}

void RunCandidateStage(size_t count) {
  // Real signatures of generated rings, then jittered copies.
  std::vector<geometry::ShapeSignature> base;
  for (int i = 0; i < 300; ++i) {
    base.push_back(*geometry::ComputeSignature(
        gen::BuildPiece(gen::RandomPiece(i), kTwinResolution)));
  }
  server::SignatureIndex index;
  std::mt19937_64 rng(7);
  std::normal_distribution<double> jitter(0, 1);
  for (size_t i = 0; i < count; ++i) {
    geometry::ShapeSignature s = base[i % base.size()];
    s.inner_diameter_mm += 0.3 * jitter(rng);
    s.band_width_mm += 0.3 * jitter(rng);
    for (float& d : s.descriptor) {
      d = std::max(0.0f, d + static_cast<float>(0.01 * jitter(rng)));
    }
    index.AddSignature({"pc_" + std::to_string(i), 1, std::to_string(i), {}},
                       s);
  }
  const int queries = 200;
  const auto start = Clock::now();
  size_t hits = 0;
  for (int q = 0; q < queries; ++q) {
    hits += index.Nearest(base[q % base.size()], 4).size();
  }
  const double per_query = Ms(start) / queries;
  // Anchor: reading every signature once (the floor of a brute force).
  std::printf(
      "candidate stage over %zu signatures: %.2f ms per query (target < 50 "
      "ms; %zu hits)\n",
      index.size(), per_query, hits / queries);
}

}  // namespace
}  // namespace loupe::bench

int main(int argc, char** argv) {
  auto arg = [&](int i, long fallback) {
    return argc > i ? std::atol(argv[i]) : fallback;
  };
  const int twins = static_cast<int>(arg(1, 10000));
  const int scans = static_cast<int>(arg(2, 1000));
  const int groups = static_cast<int>(arg(3, 20));
  const int resized = static_cast<int>(arg(4, 20));
  const size_t index = static_cast<size_t>(arg(5, 100000));
  loupe::bench::RunCandidateStage(index);
  std::vector<std::string> twin_stls;
  loupe::bench::RunAccuracy(twins, scans, groups, resized, &twin_stls);
  return 0;
}
