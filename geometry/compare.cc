#include "geometry/compare.h"

#include <cmath>
#include <cstdio>
#include <future>
#include <memory>

#include "base/str_cat.h"
#include "geometry/in_runs.h"

namespace loupe::geometry {
namespace {

std::string Mm(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3f mm", v);
  return b;
}

void Stage(const CompareOptions& o, std::string_view stage) {
  if (o.on_stage) o.on_stage(stage);
}

void Rule(CompareReport* r, bool ok, std::string text) {
  r->reasons.push_back(StrCat(ok ? "ok: " : "FAIL: ", text));
  r->pass = r->pass && ok;
}

void DeviationRules(Mesh mesh, const Mesh& twin, const CompareOptions& o,
                    CompareReport* r) {
  // The twin's distance field on one thread (it takes longest), the
  // areas and measurements of both on this one.
  auto twin_side = std::async(std::launch::async, [&twin] {
    return std::make_unique<MeshDistance>(twin);
  });
  std::vector<double> areas, twin_areas;
  const Measurements measured = Measure(mesh, &areas);
  const Measurements twin_measured = Measure(twin, &twin_areas);
  const std::unique_ptr<MeshDistance> twin_distance = twin_side.get();
  Stage(o, "prepare");
  AlignOptions align;
  align.allow_scale = o.purpose == Purpose::kReorder && o.allow_scale;
  align.threads = o.threads;
  r->alignment = Align(mesh, twin, *twin_distance, align,
                       {&measured, &twin_measured, &areas});
  r->aligned = std::move(mesh);
  std::vector<Vec3>& moved = r->aligned.vertices;
  InRuns(moved.size(), o.threads, [&](int, size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      moved[i] = r->alignment.pose.Apply(moved[i]);
    }
  });
  Stage(o, "align");
  // Rigid or uniformly scaled: the areas' proportions are the same.
  r->to_twin = MeasureDeviation(r->aligned, *twin_distance, o.tolerance_mm,
                                o.threads, &areas);
  // Coverage: the twin's area within 3 tolerances of the mesh (a region
  // the scan missed, or material that is gone, is not covered).
  Stage(o, "deviation");
  r->coverage = Coverage(twin, r->aligned, *r->to_twin, 3 * o.tolerance_mm,
                         o.threads, &twin_areas);
  Stage(o, "coverage");
  const DeviationStats& s = r->to_twin->stats;
  const double t = o.tolerance_mm;
  r->pass = true;
  Rule(r, s.p95_abs <= t,
       StrCat("95 % of the surface within ", Mm(t), " (P95 ", Mm(s.p95_abs),
              ")"));
  Rule(r, s.max_abs <= 3 * t,
       StrCat("no point beyond 3 x tolerance (max ", Mm(s.max_abs),
              s.max_inside < -s.max_outside ? ", missing material"
                                            : ", extra material",
              ")"));
  Rule(r, r->coverage >= 0.95,
       StrCat("the twin is covered (", std::lround(r->coverage * 1000) / 10.0,
              " % within ", Mm(3 * t), ")"));
  if (align.allow_scale) {
    const double change = std::abs(r->alignment.pose.scale - 1);
    Rule(r, change <= o.max_scale_change,
         StrCat("casting scale ", r->alignment.pose.scale,
                " within the allowed ", o.max_scale_change * 100, " %"));
  }
  if (!r->alignment.pose_determined) {
    r->reasons.push_back(StrCat("note: ", r->alignment.note));
  }
}

absl::Status RingRules(Mesh mesh, const Mesh& twin, const CompareOptions& o,
                       CompareReport* r) {
  auto ring = MeasureRing(mesh);
  if (!ring.ok()) return ring.status();
  auto twin_ring = MeasureRing(twin);
  if (!twin_ring.ok()) {
    return absl::FailedPreconditionError(
        StrCat("twin: ", twin_ring.status().message()));
  }
  r->ring = *ring;
  r->twin_ring = *twin_ring;
  const double t = o.tolerance_mm;
  const double d_id = ring->inner_diameter_mm - twin_ring->inner_diameter_mm;
  r->pass = true;
  if (o.purpose == Purpose::kResize) {
    Rule(
        r, std::abs(d_id) > t,
        StrCat("the inner diameter changed: ", Mm(twin_ring->inner_diameter_mm),
               " -> ", Mm(ring->inner_diameter_mm)));
    Rule(r, std::abs(ring->band_width_mm - twin_ring->band_width_mm) <= t,
         StrCat("band width kept: ", Mm(twin_ring->band_width_mm), " -> ",
                Mm(ring->band_width_mm)));
    Rule(r, std::abs(ring->min_wall_mm - twin_ring->min_wall_mm) <= t,
         StrCat("wall kept: ", Mm(twin_ring->min_wall_mm), " -> ",
                Mm(ring->min_wall_mm)));
  } else {
    Rule(r, std::abs(d_id) <= t,
         StrCat("same size: inner diameters ", Mm(ring->inner_diameter_mm),
                " and ", Mm(twin_ring->inner_diameter_mm), " (difference ",
                Mm(d_id), ")"));
    auto fit = FitBeside(mesh, *ring, twin, *twin_ring);
    if (!fit.ok()) return fit.status();
    r->band_fit = *fit;
    Rule(r, fit->gap_p90_mm <= t,
         StrCat("the profile fits beside the ring: touching it, 90 % of the "
                "band's facing side within ",
                Mm(fit->gap_p90_mm), " of it (turned ",
                std::lround(fit->turn_deg * 10) / 10.0, " deg, max gap ",
                Mm(fit->gap_max_mm), ")"));
  }
  r->aligned = std::move(mesh);
  return absl::OkStatus();
}

}  // namespace

std::optional<Purpose> ParsePurpose(std::string_view name) {
  if (name == "repair") return Purpose::kRepair;
  if (name == "reorder") return Purpose::kReorder;
  if (name == "resize") return Purpose::kResize;
  if (name == "matching-band") return Purpose::kMatchingBand;
  return std::nullopt;
}

const char* PurposeName(Purpose p) {
  switch (p) {
    case Purpose::kRepair:
      return "repair";
    case Purpose::kReorder:
      return "reorder";
    case Purpose::kResize:
      return "resize";
    case Purpose::kMatchingBand:
      return "matching-band";
  }
  return "?";
}

absl::StatusOr<CompareReport> Compare(Mesh mesh, const Mesh& twin,
                                      const CompareOptions& o) {
  if (mesh.triangles.empty() || twin.triangles.empty()) {
    return absl::InvalidArgumentError("mesh: no triangles to compare");
  }
  CompareReport report;
  if (o.purpose == Purpose::kRepair || o.purpose == Purpose::kReorder) {
    DeviationRules(std::move(mesh), twin, o, &report);
  } else if (auto s = RingRules(std::move(mesh), twin, o, &report); !s.ok()) {
    return s;
  }
  return report;
}

}  // namespace loupe::geometry
