#pragma once

// "View in your space": the verify page's decimated preview (preview.h,
// LPV1) as glTF 2.0 binary (GLB), written with tinygltf (Debian's
// libtinygltf-dev), for AR viewers (the page's <model-viewer>, Android's
// Scene Viewer, iOS Quick Look through model-viewer's USDZ export).
//
// The GLB holds one mesh: positions in metres (glTF's unit, so AR shows
// the piece at its real size; the preview is in millimetres), smooth vertex
// normals, 32-bit indices, and one metallic PBR material of the alloy's
// colour. Pure function; thread-safe.

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace loupe::server::http {

// Base colour (linear RGB) of a metal, from the assay's alloy text ("18k
// rose gold", "pt950", ...): rose, white or yellow gold, platinum, silver;
// yellow gold when the alloy is unknown or empty.
struct MetalColour {
  double r, g, b;
};
[[nodiscard]] MetalColour MetalColourOf(std::string_view alloy);

// The GLB of an LPV1 preview. INVALID_ARGUMENT if `lpv1` is not a
// well-formed LPV1 buffer (truncated, a corner out of range).
[[nodiscard]] absl::StatusOr<std::string> PreviewToGlb(
    std::string_view lpv1, MetalColour colour = MetalColourOf(""));

}  // namespace loupe::server::http
