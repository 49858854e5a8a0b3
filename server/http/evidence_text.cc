#include "server/http/evidence_text.h"

#include <cstdio>
#include <string_view>

#include "base/str_cat.h"

namespace loupe::server::http {
namespace {

// Every English string of the section, by key: the catalogue's entries.
struct Word {
  std::string_view key, english;
};
constexpr Word kEvidenceWords[] = {
    {"evidence.heading", "Evidence"},
    {"evidence.repair", "Repaired"},
    {"evidence.resize", "Resized"},
    {"evidence.reorder", "Remade"},
    {"evidence.other", "Changed"},
    {"evidence.on_by", "on {date} by {who}"},
    {"evidence.checked_original", "checked against the original"},
    {"evidence.checked_version", "checked against version {n}"},
    {"evidence.within", "within {tolerance} mm"},
    {"evidence.numbers",
     "{coverage} % of the surface; largest difference {max} mm"},
    {"evidence.failed", "the check did not pass"},
    {"evidence.override", "The studio accepted it because: {reason}"},
};

std::string_view Words(std::string_view key) {
  for (const auto& w : kEvidenceWords) {
    if (w.key == key) return w.english;
  }
  return key;
}

// `key`'s text with each {name} replaced.
std::string Fill(
    std::string_view key,
    std::initializer_list<std::pair<std::string_view, std::string>> values) {
  std::string text(Words(key));
  for (const auto& [name, value] : values) {
    const std::string slot = StrCat("{", name, "}");
    if (auto at = text.find(slot); at != std::string::npos) {
      text.replace(at, slot.size(), value);
    }
  }
  return text;
}

// Millimetres with as many decimals as they need (0.05, 0.04, 0.125).
std::string Mm(double mm) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3f", mm);
  std::string s = b;
  while (s.size() > 4 && s.back() == '0') s.pop_back();
  return s;
}

std::string Percent(uint32_t ppm) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", ppm / 1e4);
  return b;
}

}  // namespace

std::string EvidenceHeading() { return std::string(Words("evidence.heading")); }

std::vector<EvidenceText> DescribeEvidence(const v1::TwinVersion& v) {
  std::vector<EvidenceText> out;
  for (const auto& e : v.evidence()) {
    const std::string what = StrCat("evidence.", e.purpose());
    const std::string_view done =
        Words(what) == what ? Words("evidence.other") : Words(what);
    const std::string date = e.checked_at().substr(0, 10);
    std::string sentence = StrCat(
        done, " ",
        Fill("evidence.on_by", {{"date", date}, {"who", e.checked_by()}}), ": ",
        e.checked_version() == 1
            ? std::string(Words("evidence.checked_original"))
            : Fill("evidence.checked_version",
                   {{"n", StrCat(e.checked_version())}}),
        " ",
        Fill("evidence.within", {{"tolerance", Mm(e.tolerance_um() / 1e3)}}),
        " (",
        Fill("evidence.numbers", {{"coverage", Percent(e.coverage_ppm())},
                                  {"max", Mm(e.max_abs_nm() / 1e6)}}),
        ")");
    if (!e.pass()) sentence += StrCat("; ", Words("evidence.failed"));
    EvidenceText t;
    t.sentence = std::move(sentence);
    if (!e.override_reason().empty()) {
      t.override_note =
          Fill("evidence.override", {{"reason", e.override_reason()}});
    }
    t.heat_map_sha256 = e.heat_map_sha256();
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace loupe::server::http
