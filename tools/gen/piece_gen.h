#pragma once

// Synthetic jewelry for identification tests and benchmarks, deterministic
// by seed: rings of four profiles (flat, D, comfort fit, knife edge) in
// many widths, thicknesses and sizes, with text engraved inside, twists,
// milgrain edges and heads (a stone's seat with prongs); and a scan
// simulator (a different triangulation, polishing wear, noise, partial
// coverage, a random pose; optionally the piece resized by one size).
//
// A piece is a PieceSpec; its mesh is built from the spec at a chosen
// resolution, so a "scan" samples the same surface with other triangles.

#include <cstdint>
#include <string>

#include "geometry/mesh.h"

namespace loupe::gen {

enum class Profile { kFlat, kD, kComfort, kKnife };

struct PieceSpec {
  Profile profile = Profile::kFlat;
  double inner_diameter = 17.35;  // mm
  double width = 4;
  double thickness = 1.8;   // Wall height at mid-width.
  std::string engraving;    // Cut 0.15 mm into the inner wall.
  double engraving_at = 0;  // Angle (rad) where the text starts.
  int twist_strands = 0;    // 0: none.
  double twist_turns = 0;   // Across the width.
  int milgrain_beads = 0;   // Per edge; 0: none.
  int prongs = 0;           // 0: no head.
  double stone_diameter = 0;
  double head_height = 0;
};

// A distinct piece: every parameter drawn from `seed`.
[[nodiscard]] PieceSpec RandomPiece(uint64_t seed);
// One US size larger (inner circumference + 2.55 mm), the rest unchanged.
[[nodiscard]] PieceSpec Resized(const PieceSpec& spec);

struct Resolution {
  double segment_mm = 0.25;  // Facet length around the ring.
  double profile_mm = 0.2;   // Facet length across the profile.
  double phase = 0;          // Of the first segment, in segments.
};

// The piece's mesh in its own frame (axis z, mid-width at z = 0),
// outward oriented; a head is a separate closed shell.
[[nodiscard]] geometry::Mesh BuildPiece(const PieceSpec& spec,
                                        const Resolution& resolution = {});

struct ScanOptions {
  uint64_t seed = 1;
  double noise_mm = -1;      // < 0: drawn from 0.02 .. 0.05.
  double coverage = -1;      // < 0: drawn from 0.6 .. 0.8.
  double wear_mm = 0.03;     // Uniform loss along the normals.
  size_t target_points = 0;  // 0: about 40,000 vertices.
  bool random_pose = true;   // false: in the piece's own frame.
};

// A simulated scan of the piece: finer or coarser triangles than
// BuildPiece's default, worn, noisy, with a cap of the piece missing, in
// a random pose.
[[nodiscard]] geometry::Mesh SimulateScan(const PieceSpec& spec,
                                          const ScanOptions& options);

}  // namespace loupe::gen

namespace loupe::gen {
// Binary STL of the mesh (what scanners and CAD tools write).
[[nodiscard]] std::string StlBinary(const geometry::Mesh& mesh);
}  // namespace loupe::gen
