#pragma once

// The verify page's evidence section in plain words: for each recorded
// check a version cites, one sentence such as "Repaired on 2027-03-02 by
// bench: checked against the original within 0.05 mm (99.8 % of the
// surface; largest difference 0.04 mm)". Every English string is in the
// one table in evidence_text.cc (kEvidenceWords), keyed, so that it can
// move into the page's per-language catalogue.

#include <string>
#include <vector>

#include "loupe/v1/twin.pb.h"

namespace loupe::server::http {

struct EvidenceText {
  std::string sentence;         // Plain text; the caller escapes it.
  std::string override_note;    // "The studio accepted it because: ...", or "".
  std::string heat_map_sha256;  // The published picture, if any.
};

// One entry per cited check of `version`, in order.
[[nodiscard]] std::vector<EvidenceText> DescribeEvidence(
    const v1::TwinVersion& version);

// The section's heading.
[[nodiscard]] std::string EvidenceHeading();

}  // namespace loupe::server::http
