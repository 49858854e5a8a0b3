#include "server/http/evidence_text.h"

#include <cstdio>
#include <string_view>

#include "base/str_cat.h"

namespace loupe::server::http {
namespace {

// What was done, by the check's purpose (server/registry/evidence.cc); any
// other purpose is "evidence.other".
struct Purpose {
  std::string_view purpose, key;
};
constexpr Purpose kPurposes[] = {
    {"repair", "evidence.repair"},
    {"resize", "evidence.resize"},
    {"reorder", "evidence.reorder"},
};

std::string_view DoneKey(std::string_view purpose) {
  for (const auto& p : kPurposes) {
    if (p.purpose == purpose) return p.key;
  }
  return "evidence.other";
}

// `v` with as many decimals as it needs between `min_digits` and
// `max_digits` (0.05, 0.04, 0.125), in `c`'s notation.
std::string Short(const Catalogue& c, double v, int min_digits,
                  int max_digits) {
  char b[32];
  std::snprintf(b, sizeof b, "%.*f", max_digits, v);
  int digits = max_digits;
  for (std::string_view s = b; digits > min_digits && s.back() == '0';
       --digits) {
    s.remove_suffix(1);
  }
  return c.Number(v, digits);
}

std::string Mm(const Catalogue& c, double mm) { return Short(c, mm, 2, 3); }

std::string Sentence(const Catalogue& c, const v1::CheckEvidence& e) {
  const std::string against = e.checked_version() == 1
                                  ? c.T("evidence.checked_original")
                                  : c.T("evidence.checked_version",
                                        {{"n", StrCat(e.checked_version())}});
  std::string sentence = c.T(
      "evidence.sentence",
      {{"done", c.T(DoneKey(e.purpose()))},
       {"on_by", c.T("evidence.on_by", {{"date", e.checked_at().substr(0, 10)},
                                        {"who", e.checked_by()}})},
       {"against", against},
       {"within",
        c.T("evidence.within", {{"tolerance", Mm(c, e.tolerance_um() / 1e3)}})},
       {"numbers", c.T("evidence.numbers",
                       {{"coverage", c.Number(e.coverage_ppm() / 1e4, 1)},
                        {"max", Mm(c, e.max_abs_nm() / 1e6)}})}});
  if (e.pass()) return sentence;
  return c.T("evidence.failed", {{"sentence", sentence}});
}

}  // namespace

std::vector<EvidenceText> DescribeEvidence(const Catalogue& c,
                                           const v1::TwinVersion& v) {
  std::vector<EvidenceText> out;
  for (const auto& e : v.evidence()) {
    EvidenceText t;
    t.sentence = Sentence(c, e);
    if (!e.override_reason().empty()) {
      t.override_note =
          c.T("evidence.override", {{"reason", e.override_reason()}});
    }
    t.heat_map_sha256 = e.heat_map_sha256();
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace loupe::server::http
