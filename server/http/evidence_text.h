#pragma once

// The verify page's evidence section in the reader's words: for each
// recorded check a version cites, one sentence such as "Repaired on
// 2027-03-02 by bench: checked against the original within 0.05 mm (99.8 %
// of the surface; largest difference 0.04 mm)". Every string comes from the
// page's catalogue (i18n.h, keys "evidence.*"); numbers use the catalogue's
// decimal separator, dates are ISO 8601 as elsewhere on the page.
//
// Thread-safe: pure functions of their arguments.

#include <string>
#include <vector>

#include "loupe/v1/twin.pb.h"
#include "server/http/i18n.h"

namespace loupe::server::http {

struct EvidenceText {
  std::string sentence;         // Plain text; the caller escapes it.
  std::string override_note;    // "The studio accepted it because: ...", or "".
  std::string heat_map_sha256;  // The published picture, if any.
};

// One entry per cited check of `version`, in order, in `c`'s language.
[[nodiscard]] std::vector<EvidenceText> DescribeEvidence(
    const Catalogue& c, const v1::TwinVersion& version);

}  // namespace loupe::server::http
