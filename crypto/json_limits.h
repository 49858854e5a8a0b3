#pragma once

// The one way Loupe parses JSON it did not write itself: bundles, DSSE
// envelopes, trust roots, statements, status statements, owner payloads,
// key files. nlohmann::json parses iteratively, but copying, comparing and
// re-encoding a value recurse once per level, so a 400 KB "[[[[..." bundle
// overflows the stack (SIGSEGV) in the code that reads it. Here:
//  - size: at most max_bytes, checked before anything is parsed;
//  - depth: at most max_depth nested arrays/objects, by a scan of the bytes
//    (outside strings) before parsing, so nothing deep is ever built;
//  - duplicate object keys are refused: readers that keep the first and
//    readers that keep the last value would see different documents, and a
//    signature must mean one thing.
// Pure functions; thread-safe.

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace loupe::crypto {

// Deep enough for every Loupe format (the deepest, a certificate's twin
// predicate, nests under 10), far below what recursion can survive.
inline constexpr int kMaxJsonDepth = 64;
// Larger than any bundle, root or statement Loupe writes (a bundle is a
// few KB to a few hundred KB for a twin with many assets).
inline constexpr size_t kMaxJsonBytes = 16 << 20;

struct JsonLimits {
  size_t max_bytes = kMaxJsonBytes;
  int max_depth = kMaxJsonDepth;
};

// Parses `text` as one JSON value. INVALID_ARGUMENT "<what>: ..." naming the
// problem: larger than max_bytes, nested deeper than max_depth, a duplicate
// key (with its name), or not JSON at all.
[[nodiscard]] absl::StatusOr<nlohmann::json> ParseJson(std::string_view text,
                                                       std::string_view what,
                                                       JsonLimits limits = {});

// ParseJson, and `text` must be exactly the canonical encoding of what it
// parses to (CanonicalJson): for payloads that others sign, so that the
// bytes signed have one reading. INVALID_ARGUMENT "<what>: not canonical
// JSON ..." otherwise.
[[nodiscard]] absl::StatusOr<nlohmann::json> ParseCanonicalJson(
    std::string_view text, std::string_view what);

// The deepest nesting of arrays and objects in `text` (brackets inside
// strings do not count), stopping early once it exceeds `stop_above`.
[[nodiscard]] int JsonDepth(std::string_view text, int stop_above);

}  // namespace loupe::crypto
