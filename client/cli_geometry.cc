// `loupe geometry inspect`: read a mesh file, check it and measure it,
// offline.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>

#include "base/file.h"
#include "base/mapped_file.h"
#include "base/sanitizers.h"
#include "base/str_cat.h"
#include "client/cli_common.h"
#include "client/registry_client.h"
#include "crypto/sha256.h"
#include "geometry/cad/cad_readers.h"
#include "geometry/compare.h"
#include "geometry/geometry_hash.h"
#include "geometry/heatmap.h"
#include "geometry/jewelry_tables.h"
#include "geometry/measure.h"
#include "geometry/mesh_check.h"
#include "geometry/picture.h"
#include "geometry/read_mesh.h"
#include "geometry/ring.h"

namespace loupe::client {
namespace {

using Json = nlohmann::json;
namespace g = loupe::geometry;

struct InspectOptions {
  std::string path;
  std::string alloy;
  bool timings = false;
  // The canonical hash's version (docs/geometry.md): the current one, or 2
  // to check a summary recorded before version 3.
  int hash_version = static_cast<int>(g::kGeometryHashVersion);
};

// Seconds since `start`.
double Since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

// One line of --timings on stderr.
void PrintTiming(std::string_view stage, double seconds) {
  std::fprintf(stderr, "%-12s %7.3f s\n", std::string(stage).c_str(), seconds);
}

struct CompareOptions {
  std::string path, twin, purpose = "repair", heatmap, picture;
  double tolerance = 0.05;
  bool allow_scale = false;
  bool timings = false;
};

std::string Fixed(double v, int digits = 3) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", digits, v);
  return buffer;
}

Json Vec(const g::Vec3& v) { return Json::array({v.x, v.y, v.z}); }

// Inspects `read` (of `bytes`, whose SHA-256 is `sha256`); with `timings`,
// each pass's time goes to stderr.
Json Report(const std::string& path, const std::string& sha256,
            const g::ReadMeshResult& read, const std::optional<g::Alloy>& alloy,
            g::GeometryHashVersion hash_version, bool timings) {
  // Independent passes over the mesh: the geometry hash (two threads of
  // its own, the longest chain) beside the topology check and the
  // measurements, one after the other on this thread: more threads would
  // only slow the hash's chain down on two cores.
  auto timed = [timings](const char* name, auto&& f) {
    const auto start = std::chrono::steady_clock::now();
    auto result = f();
    if (timings) PrintTiming(name, Since(start));
    return result;
  };
  auto hashed = std::async(std::launch::async, [&] {
    return timed("hash", [&] {
      return g::CanonicalGeometryHash(read.mesh, 2, hash_version);
    });
  });
  const g::MeshReport check =
      timed("topology", [&] { return g::CheckMesh(read.mesh); });
  const auto [m, ring] = timed("measure", [&] {
    g::Measurements m = g::Measure(read.mesh);
    auto ring = g::MeasureRing(read.mesh, m);
    return std::make_pair(m, ring);
  });
  const std::string geometry_hash = hashed.get();
  Json j = {{"file", path},
            {"format", g::MeshFormatName(read.format)},
            {"sha256", sha256},
            {"geometry_hash", geometry_hash},
            {"geometry_hash_version", static_cast<int>(hash_version)},
            {"vertices", check.vertices},
            {"triangles", check.triangles},
            {"watertight", check.watertight()},
            {"manifold", check.manifold()},
            {"consistently_oriented", check.consistently_oriented()},
            {"degenerate_triangles", check.degenerate_triangles},
            {"boundary_edges", check.boundary_edges},
            {"non_manifold_edges", check.non_manifold_edges},
            {"volume_mm3", m.volume_mm3},
            {"area_mm2", m.area_mm2},
            {"bbox_min", Vec(m.bbox_min)},
            {"bbox_max", Vec(m.bbox_max)},
            {"center_of_mass", Vec(m.center_of_mass)}};
  if (m.unit_warning) j["unit_warning"] = *m.unit_warning;
  if (m.signed_volume_mm3 < 0) j["inside_out"] = true;
  if (alloy) {
    j["weight"] = {{"alloy", alloy->label},
                   {"grams", g::WeightGrams(m.volume_mm3, *alloy)}};
  }
  if (ring.ok()) {
    Json sizes = Json::object();
    for (const auto& s : g::RingSizesFor(ring->inner_circumference_mm)) {
      sizes[s.system] = s.size;
    }
    j["ring"] = {{"axis", Vec(ring->axis)},
                 {"center", Vec(ring->center)},
                 {"inner_diameter_mm", ring->inner_diameter_mm},
                 {"inner_circumference_mm", ring->inner_circumference_mm},
                 {"outer_diameter_mm", ring->outer_diameter_mm},
                 {"band_width_mm", ring->band_width_mm},
                 {"min_wall_mm", ring->min_wall_mm},
                 {"sizes", sizes}};
  } else {
    j["ring"] = nullptr;
    j["ring_note"] = std::string(ring.status().message());
  }
  return j;
}

void PrintText(const Json& j) {
  auto yes = [](bool b) { return b ? "yes" : "NO"; };
  std::cout << j["file"].get<std::string>() << ": "
            << j["format"].get<std::string>() << ", " << j["triangles"]
            << " triangles, " << j["vertices"] << " vertices\n"
            << "  sha256         " << j["sha256"].get<std::string>() << "\n"
            << "  geometry hash  " << j["geometry_hash"].get<std::string>()
            << " (v" << j["geometry_hash_version"] << ")"
            << "\n  watertight " << yes(j["watertight"]) << ", manifold "
            << yes(j["manifold"]) << ", consistently oriented "
            << yes(j["consistently_oriented"]) << ", degenerate triangles "
            << j["degenerate_triangles"] << "\n";
  const auto& lo = j["bbox_min"];
  const auto& hi = j["bbox_max"];
  std::cout << "  volume " << Fixed(j["volume_mm3"]) << " mm3, area "
            << Fixed(j["area_mm2"]) << " mm2, box "
            << Fixed(hi[0].get<double>() - lo[0].get<double>(), 2) << " x "
            << Fixed(hi[1].get<double>() - lo[1].get<double>(), 2) << " x "
            << Fixed(hi[2].get<double>() - lo[2].get<double>(), 2) << " mm\n";
  if (j.contains("weight")) {
    std::cout << "  weight " << Fixed(j["weight"]["grams"], 2) << " g in "
              << j["weight"]["alloy"].get<std::string>() << "\n";
  }
  if (!j["ring"].is_null()) {
    const auto& r = j["ring"];
    std::cout << "  ring: inner diameter " << Fixed(r["inner_diameter_mm"])
              << " mm, inner circumference "
              << Fixed(r["inner_circumference_mm"], 2) << " mm, band width "
              << Fixed(r["band_width_mm"], 2) << " mm, min wall (est.) "
              << Fixed(r["min_wall_mm"], 2) << " mm\n        sizes:";
    for (const auto& [system, size] : r["sizes"].items()) {
      std::cout << " " << system << " " << size.get<std::string>() << ";";
    }
    std::cout << "\n";
  }
  if (j.contains("inside_out")) {
    std::cout << "  WARNING: the triangles face inwards (negative volume)\n";
  }
  if (j.contains("unit_warning")) {
    std::cout << "  WARNING: " << j["unit_warning"].get<std::string>() << "\n";
  }
}

// Ends a one-shot geometry command with `code` once its output is out:
// flushes and exits without running destructors. Freeing a large mesh's
// hundreds of megabytes buffer by buffer costs more than the kernel's
// taking them back at once (compilers skip it for the same reason).
// Sanitizer builds return `code` instead, so that leak checks still run.
int EndCommand(int code) {
  if (LOUPE_ADDRESS_SANITIZER) return code;
  std::cout.flush();
  std::fflush(nullptr);
  ::_exit(code);
}

int Inspect(const Globals& g, const InspectOptions& o) {
  std::optional<g::Alloy> alloy;
  if (!o.alloy.empty()) {
    alloy = g::FindAlloy(o.alloy);
    if (!alloy) {
      std::string names;
      for (const auto& a : g::Alloys()) names += StrCat(" ", a.name);
      return Usage(StrCat("--alloy: one of", names));
    }
  }
  const auto hash_version = g::GeometryHashVersionOf(o.hash_version);
  if (!hash_version || o.hash_version == 0) {
    return Usage("--hash-version: 2 or 3");
  }
  const auto started = std::chrono::steady_clock::now();
  auto file = MappedFile::Open(o.path);
  if (!file.ok()) return Usage(std::string(file.status().message()));
  // The file's SHA-256 while it is parsed.
  auto sha256 = std::async(
      std::launch::async, [&] { return crypto::Sha256::HexOf(file->bytes()); });
  auto read = g::ParseMesh(file->bytes(), o.path);
  if (o.timings) PrintTiming("read", Since(started));
  if (!read.ok()) {
    return Fail(absl::Status(read.status().code(),
                             StrCat(o.path, ": ", read.status().message())));
  }
  const Json report =
      Report(o.path, sha256.get(), *read, alloy, *hash_version, o.timings);
  if (o.timings) {
    PrintTiming("total", Since(started));
  }
  if (g.json) {
    std::cout << report.dump() << "\n";
  } else {
    PrintText(report);
  }
  return EndCommand(kOk);
}

Json StatsJson(const g::DeviationStats& s) {
  return {{"mean_signed_mm", s.mean_signed},
          {"mean_abs_mm", s.mean_abs},
          {"rms_mm", s.rms},
          {"max_abs_mm", s.max_abs},
          {"p95_abs_mm", s.p95_abs},
          {"p99_abs_mm", s.p99_abs},
          {"max_outside_mm", s.max_outside},
          {"max_inside_mm", s.max_inside},
          {"within_tolerance", s.within_tolerance},
          {"worst_point", Vec(s.worst_point)}};
}

int CompareFiles(const Globals& g, const CompareOptions& o) {
  auto purpose = g::ParsePurpose(o.purpose);
  if (!purpose) {
    return Usage("--purpose: one of repair, reorder, resize, matching-band");
  }
  if (!(o.tolerance > 0 && o.tolerance < 10)) {
    return Usage("--tolerance: millimetres, above 0 and below 10");
  }
  // --timings: each stage's wall time on stderr.
  const auto started = std::chrono::steady_clock::now();
  auto last = started;
  auto stage = [&](std::string_view name) {
    if (!o.timings) return;
    const auto now = std::chrono::steady_clock::now();
    PrintTiming(name, std::chrono::duration<double>(now - last).count());
    last = now;
  };
  // Both files at once.
  auto twin_read =
      std::async(std::launch::async, [&o] { return g::ReadMeshFile(o.twin); });
  auto mesh = g::ReadMeshFile(o.path);
  auto twin = twin_read.get();
  if (!mesh.ok()) return Fail(mesh.status());
  if (!twin.ok()) return Fail(twin.status());
  stage("read");
  g::CompareOptions options;
  options.purpose = *purpose;
  options.tolerance_mm = o.tolerance;
  options.allow_scale = o.allow_scale;
  options.on_stage = stage;
  auto report = g::Compare(std::move(mesh->mesh), twin->mesh, options);
  if (!report.ok()) return Fail(report.status());
  Json j = {{"file", o.path},       {"twin", o.twin},
            {"purpose", o.purpose}, {"tolerance_mm", o.tolerance},
            {"pass", report->pass}, {"reasons", report->reasons}};
  if (report->to_twin) {
    j["deviation"] = StatsJson(report->to_twin->stats);
    j["coverage"] = report->coverage;
    j["alignment"] = {{"rms_mm", report->alignment.rms_mm},
                      {"scale", report->alignment.pose.scale},
                      {"pose_determined", report->alignment.pose_determined},
                      {"iterations", report->alignment.iterations}};
  }
  if (report->ring) {
    j["inner_diameter_mm"] = report->ring->inner_diameter_mm;
    j["twin_inner_diameter_mm"] = report->twin_ring->inner_diameter_mm;
    Json sizes = Json::object();
    for (const auto& s :
         g::RingSizesFor(report->ring->inner_circumference_mm)) {
      sizes[s.system] = s.size;
    }
    j["sizes"] = sizes;
  }
  if (report->band_fit) {
    const auto& f = *report->band_fit;
    j["band_fit"] = {{"turn_deg", f.turn_deg},
                     {"gap_p90_mm", f.gap_p90_mm},
                     {"gap_max_mm", f.gap_max_mm},
                     {"mean_gap_mm", f.mean_gap_mm},
                     {"footprint_share", f.footprint_share}};
  }
  if (!o.heatmap.empty() && report->to_twin) {
    std::ofstream(o.heatmap, std::ios::binary | std::ios::trunc)
        << g::HeatmapPly(report->aligned, report->to_twin->per_vertex,
                         o.tolerance);
    j["heatmap"] = o.heatmap;
  }
  if (!o.picture.empty() && report->to_twin) {
    std::ofstream(o.picture, std::ios::binary | std::ios::trunc)
        << g::HeatmapPng(report->aligned, report->to_twin->per_vertex,
                         o.tolerance);
    j["picture"] = o.picture;
  }
  stage("report");
  if (o.timings) {
    PrintTiming("total", std::chrono::duration<double>(last - started).count());
  }
  if (g.json) {
    std::cout << j.dump() << "\n";
  } else {
    std::cout << o.path << " against " << o.twin << " (" << o.purpose
              << ", tolerance " << Fixed(o.tolerance)
              << " mm): " << (report->pass ? "PASS" : "FAIL") << "\n";
    for (const auto& r : report->reasons) std::cout << "  " << r << "\n";
    if (j.contains("sizes")) {
      std::cout << "  measured: inner diameter "
                << Fixed(j["inner_diameter_mm"]) << " mm; sizes:";
      for (const auto& [system, size] : j["sizes"].items()) {
        std::cout << " " << system << " " << size.get<std::string>() << ";";
      }
      std::cout << "\n";
    }
    if (j.contains("heatmap")) {
      std::cout << "  heat map: " << o.heatmap << "\n";
    }
    if (j.contains("picture")) {
      std::cout << "  picture: " << o.picture << "\n";
    }
  }
  return EndCommand(report->pass ? kOk : kFailed);
}

struct CheckOptions {
  std::string piece, path, purpose = "repair", twin, output;
  uint32_t version = 0;
  double tolerance = 0.05;
  bool allow_scale = false;
  bool record = false;
};

int CheckOnServer(const Globals& g, const CheckOptions& o) {
  auto bytes = ReadFileToString(o.path);
  if (!bytes.ok()) return Usage(std::string(bytes.status().message()));
  RegistryClient client(g.server, g.token, g.channel);
  v1::CheckGeometryHeader header;
  header.set_piece_id(o.piece);
  header.set_version(o.version);
  header.set_purpose(o.purpose);
  header.set_tolerance_mm(o.tolerance);
  header.set_allow_scale(o.allow_scale);
  header.set_file_name(o.path);
  header.set_twin_asset_sha256(o.twin);
  header.set_record(o.record);
  auto check = client.CheckGeometry(header, *bytes);
  if (!check.ok()) return Fail(check.status());
  if (!o.output.empty() && !check->statement_json().empty()) {
    std::ofstream(o.output, std::ios::trunc) << check->statement_json() << "\n";
  }
  if (g.json) {
    std::cout << ToJson(*check) << "\n";
  } else {
    std::cout << o.path << " against " << o.piece << " version "
              << check->version() << " (" << check->purpose() << ", tolerance "
              << Fixed(check->tolerance_mm())
              << " mm): " << (check->pass() ? "PASS" : "FAIL") << "\n";
    for (const auto& r : check->reasons()) std::cout << "  " << r << "\n";
    if (!check->statement_json().empty()) {
      std::cout << "  signed by the registry"
                << (o.output.empty() ? "" : ", statement in " + o.output)
                << "\n";
    }
    if (!check->check_id().empty()) {
      std::cout << "  recorded: " << check->check_id() << " (log entry "
                << check->log_index() << "); cite it with `loupe version add "
                << o.piece << " --reason " << check->purpose() << " --evidence "
                << check->check_id() << "`\n";
    }
  }
  return check->pass() ? kOk : kFailed;
}

}  // namespace

void AddGeometryCommands(CLI::App& geometry, Globals& g, RunSlot& run) {
  g::cad::EnableCadReaders();  // STEP and 3MF beside STL, OBJ and PLY.
  geometry.require_subcommand(1);
  auto o = std::make_shared<InspectOptions>();
  auto* inspect = geometry.add_subcommand(
      "inspect",
      "read an STL, OBJ, PLY, STEP or 3MF file: topology checks, the file and "
      "geometry "
      "hashes, volume, area, box; for a ring its inner diameter, sizes, band "
      "width and wall (exit 1 if the file is malformed)");
  inspect->add_option("file", o->path, "the mesh file")->required();
  inspect->add_option("--alloy", o->alloy,
                      "estimate the weight in this alloy (e.g. 18k-rose, "
                      "pt950, sterling)");
  inspect->add_option("--hash-version", o->hash_version,
                      "the geometry hash's version: 3 (default), or 2 to "
                      "check a summary recorded before version 3");
  inspect->add_flag("--timings", o->timings,
                    "print the time of each pass (read, hash, topology, "
                    "measure) on stderr");
  inspect->callback(
      [&g, &run, o] { run = [&g, o] { return Inspect(g, *o); }; });

  auto c = std::make_shared<CompareOptions>();
  auto* compare = geometry.add_subcommand(
      "compare",
      "check a scan or CAD file against the twin's file for a purpose, "
      "within a tolerance (exit 0 pass, 1 fail, 2 usage); rules in "
      "docs/geometry.md");
  compare->add_option("file", c->path, "the new scan or CAD file")->required();
  compare->add_option("twin", c->twin, "the twin's file")->required();
  compare->add_option("--purpose", c->purpose,
                      "repair (default), reorder, resize, matching-band");
  compare->add_option("--tolerance", c->tolerance,
                      "millimetres (default 0.05)");
  compare->add_flag("--allow-scale", c->allow_scale,
                    "reorder: allow a uniform casting scale (up to 3 %)");
  compare->add_option("--heatmap", c->heatmap,
                      "write a PLY heat map of the deviations here");
  compare->add_option("--picture", c->picture,
                      "write a PNG of the heat map (three views, colour "
                      "scale, histogram) here");
  compare->add_flag("--timings", c->timings,
                    "print each stage's time (read, prepare, align, "
                    "deviation, coverage, report) on stderr");
  compare->callback(
      [&g, &run, c] { run = [&g, c] { return CompareFiles(g, *c); }; });
}

void AddCheckCommand(CLI::App& check, Globals& g, RunSlot& run) {
  auto k = std::make_shared<CheckOptions>();
  check.add_option("piece", k->piece, "piece id")->required();
  check.add_option("file", k->path, "the new scan or CAD file")
      ->required()
      ->check(CLI::ExistingFile);
  check.add_option("--version", k->version, "twin version (default: current)");
  check.add_option("--purpose", k->purpose,
                   "repair (default), reorder, resize, matching-band");
  check.add_option("--tolerance", k->tolerance, "millimetres (default 0.05)");
  check.add_flag("--allow-scale", k->allow_scale,
                 "reorder: allow a casting scale");
  check.add_option("--twin", k->twin,
                   "sha256 of the twin's mesh (default: the version's first)");
  check.add_flag("--record", k->record,
                 "record the result: the registry stores and logs its signed "
                 "statement and prints the check's id, which a new version "
                 "may cite (`loupe version add --evidence`)");
  check.add_option("-o,--output", k->output,
                   "save the registry's signed statement here");
  check.callback(
      [&g, &run, k] { run = [&g, k] { return CheckOnServer(g, *k); }; });
}

}  // namespace loupe::client
