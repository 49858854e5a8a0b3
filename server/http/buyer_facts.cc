#include "server/http/buyer_facts.h"

#include <google/protobuf/util/time_util.h>

#include <cctype>
#include <numbers>
#include <optional>

#include "base/str_cat.h"
#include "geometry/jewelry_tables.h"

namespace loupe::server::http {
namespace {

using v1::RingSizeSystem;

std::string Row(std::string_view name, std::string_view html) {
  return StrCat("<tr><th>", HtmlEscape(name), "</th><td>", html,
                "</td></tr>\n");
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(c));
  return out;
}

// Region (upper case) -> ring-size system; then language -> system.
struct SystemFor {
  std::string_view code;
  RingSizeSystem system;
};
constexpr SystemFor kRegions[] = {
    {"US", v1::RING_SIZE_SYSTEM_US}, {"CA", v1::RING_SIZE_SYSTEM_US},
    {"GB", v1::RING_SIZE_SYSTEM_UK}, {"AU", v1::RING_SIZE_SYSTEM_UK},
    {"IE", v1::RING_SIZE_SYSTEM_UK}, {"NZ", v1::RING_SIZE_SYSTEM_UK},
    {"ZA", v1::RING_SIZE_SYSTEM_UK}, {"IT", v1::RING_SIZE_SYSTEM_IT},
    {"ES", v1::RING_SIZE_SYSTEM_IT}, {"CH", v1::RING_SIZE_SYSTEM_IT},
    {"JP", v1::RING_SIZE_SYSTEM_JP},
};
constexpr SystemFor kLanguages[] = {
    {"en", v1::RING_SIZE_SYSTEM_US},
    {"it", v1::RING_SIZE_SYSTEM_IT},
    {"es", v1::RING_SIZE_SYSTEM_IT},
    {"ja", v1::RING_SIZE_SYSTEM_JP},
};

// geometry::RingSizesFor's system names.
constexpr std::pair<std::string_view, RingSizeSystem> kTableSystems[] = {
    {"ISO 8653", v1::RING_SIZE_SYSTEM_ISO},
    {"US/Canada", v1::RING_SIZE_SYSTEM_US},
    {"UK/Australia", v1::RING_SIZE_SYSTEM_UK},
    {"IT/ES/CH", v1::RING_SIZE_SYSTEM_IT},
    {"JP", v1::RING_SIZE_SYSTEM_JP},
};

std::string SystemLabel(const Catalogue& c, RingSizeSystem s) {
  return c.Enum(v1::RingSizeSystem_Name(s));
}

// The assay's alloy as the density table names it ("18k rose gold" or
// "18k-rose"), if it is there.
std::optional<geometry::Alloy> AlloyOf(const v1::TwinVersion& v) {
  if (!v.has_assay()) return std::nullopt;
  const std::string alloy = Lower(v.assay().alloy());
  for (const auto& a : geometry::Alloys()) {
    if (alloy == a.name || alloy == Lower(a.label)) return a;
  }
  return std::nullopt;
}

std::string AlloyLabel(const Catalogue& c, const v1::TwinVersion& v) {
  if (auto a = AlloyOf(v)) return c.T(StrCat("alloy.", a->name));
  return v.assay().alloy();
}

std::string StoneHtml(const Catalogue& c, const v1::StoneReport& s) {
  const std::string key = StrCat("stone.", Lower(s.stone_type()));
  std::string out = HtmlEscape(
      c.T("fact.stone_value", {{"type", c.Has(key) ? c.T(key) : s.stone_type()},
                               {"shape", s.shape()},
                               {"carat", c.Number(s.carat())}}));
  if (!s.colour().empty() || !s.clarity().empty()) {
    out += StrCat(
        ", ", HtmlEscape(c.T("fact.stone_grades", {{"colour", s.colour()},
                                                   {"clarity", s.clarity()}})));
  }
  if (!s.laboratory().empty()) {
    out += StrCat(
        " (",
        HtmlEscape(c.T("fact.stone_report", {{"lab", s.laboratory()},
                                             {"number", s.report_number()}})),
        ")");
  }
  return out;
}

std::string AssayHtml(const Catalogue& c, const v1::TwinVersion& v) {
  std::string out = HtmlEscape(AlloyLabel(c, v));
  if (v.assay().fineness_per_mille() > 0) {
    out += StrCat(
        ", ", HtmlEscape(
                  c.T("fact.assay_fineness",
                      {{"fineness", StrCat(v.assay().fineness_per_mille())}})));
  }
  const std::string lab = StrCat(
      v.assay().laboratory(),
      v.assay().laboratory().empty() || v.assay().report_id().empty() ? ""
                                                                      : " ",
      v.assay().report_id());
  if (!lab.empty()) {
    out += StrCat(" (", HtmlEscape(c.T("fact.assay_lab", {{"lab", lab}})), ")");
  }
  return out;
}

}  // namespace

std::string HtmlEscape(std::string_view s) {
  std::string out;
  for (char ch : s) {
    switch (ch) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += ch;
    }
  }
  return out;
}

RingSizeSystem ReaderRingSystem(const Locale& locale) {
  const size_t dash = locale.tag.find('-');
  if (dash != std::string::npos) {
    std::string region = locale.tag.substr(dash + 1, 2);
    for (char& ch : region) ch = static_cast<char>(std::toupper(ch));
    for (const auto& r : kRegions) {
      if (r.code == region) return r.system;
    }
    if (locale.tag.size() - dash - 1 == 2) return v1::RING_SIZE_SYSTEM_ISO;
  }
  for (const auto& l : kLanguages) {
    if (l.code == locale.lang) return l.system;
  }
  return v1::RING_SIZE_SYSTEM_ISO;
}

std::string RingSizeHtml(const Catalogue& c, RingSizeSystem reader,
                         const v1::TwinVersion& v) {
  const bool stated = v.has_ring_size() && !v.ring_size().value().empty();
  double diameter = stated ? v.ring_size().inner_diameter_mm() : 0;
  const bool measured = diameter <= 0;
  if (measured) {
    for (const auto& g : v.geometry()) {
      if (g.inner_diameter_mm() > 0) {
        diameter = g.inner_diameter_mm();
        break;
      }
    }
  }
  std::string out;
  if (stated) {
    out = HtmlEscape(c.T("ring.stated",
                         {{"size", v.ring_size().value()},
                          {"system", SystemLabel(c, v.ring_size().system())}}));
    if (v.ring_size().system() == reader || diameter <= 0) return out;
  }
  if (diameter <= 0) return out;
  const auto sizes = geometry::RingSizesFor(diameter * std::numbers::pi);
  std::string mine, others;
  for (const auto& s : sizes) {
    RingSizeSystem system = v1::RING_SIZE_SYSTEM_UNSPECIFIED;
    for (const auto& [name, sys] : kTableSystems) {
      if (name == s.system) system = sys;
    }
    if (system == reader) {
      mine = s.size;
    } else {
      others += StrCat(others.empty() ? "" : " · ", SystemLabel(c, system), " ",
                       s.size);
    }
  }
  if (mine.empty()) return out;
  const std::string line =
      measured
          ? c.T("ring.measured", {{"size", mine},
                                  {"system", SystemLabel(c, reader)},
                                  {"diameter", c.Number(diameter)}})
          : c.T("ring.converted",
                {{"size", mine},
                 {"system", SystemLabel(c, reader)},
                 {"stated", v.ring_size().value()},
                 {"stated_system", SystemLabel(c, v.ring_size().system())}});
  out += StrCat(out.empty() ? "" : "<br>", "<span class=\"ring-",
                measured ? "measured" : "converted", "\">", HtmlEscape(line),
                "</span>");
  if (!others.empty()) {
    out += StrCat("<br><span class=\"small\">",
                  HtmlEscape(c.T("ring.other_systems", {{"list", others}})),
                  "</span>");
  }
  return out;
}

std::string FactsHtml(const Catalogue& c, const Locale& locale,
                      const v1::Piece& piece, const v1::TwinVersion& v) {
  std::string t = "<table class=\"facts\">\n";
  t += Row(c.T("fact.studio"), HtmlEscape(piece.studio_id()));
  t += Row(c.T("fact.piece"),
           StrCat(HtmlEscape(piece.title()), " <span class=\"small\">(",
                  HtmlEscape(piece.id()), ")</span>"));
  t += Row(c.T("fact.kind"),
           HtmlEscape(c.Enum(v1::PieceKind_Name(piece.kind()))));
  t += Row(c.T("fact.reference"), HtmlEscape(piece.studio_reference()));
  if (!piece.gtin().empty()) {
    t +=
        Row(c.T("fact.gtin"),
            HtmlEscape(StrCat(piece.gtin(), piece.serial().empty() ? "" : " / ",
                              piece.serial())));
  }
  t += Row(c.T("fact.version"),
           HtmlEscape(
               c.T("fact.version_value",
                   {{"number", StrCat(v.number())},
                    {"total", StrCat(piece.current_version())},
                    {"reason", c.Enum(v1::VersionReason_Name(v.reason()))}})));
  if (v.has_assay()) t += Row(c.T("fact.assay"), AssayHtml(c, v));
  for (const auto& h : v.hallmarks()) {
    t += Row(c.T("fact.hallmark"),
             HtmlEscape(StrCat(h.sponsor_mark(), " · ", h.fineness_mark(),
                               " · ", h.assay_office(), " ", h.date_letter())));
  }
  for (const auto& s : v.stones()) t += Row(c.T("fact.stone"), StoneHtml(c, s));
  std::string route;
  for (const auto& step : v.production()) {
    if (!route.empty()) route += " → ";
    route += c.Enum(v1::ProductionStepKind_Name(step.kind()));
  }
  if (!route.empty()) t += Row(c.T("fact.production"), HtmlEscape(route));
  if (std::string ring = RingSizeHtml(c, ReaderRingSystem(locale), v);
      !ring.empty()) {
    t += Row(c.T("fact.ring_size"), ring);
  }
  const std::optional<geometry::Alloy> alloy = AlloyOf(v);
  for (const auto& g : v.geometry()) {
    if (alloy.has_value() && g.volume_mm3() > 0) {
      const std::string label = c.T(StrCat("alloy.", alloy->name));
      t += Row(
          c.T("fact.weight"),
          StrCat("<span class=\"weight\">",
                 HtmlEscape(c.T("fact.weight_value",
                                {{"grams", c.Number(geometry::WeightGrams(
                                               g.volume_mm3(), *alloy))},
                                 {"alloy", label}})),
                 "</span><br><span class=\"small\">",
                 HtmlEscape(c.T("fact.weight_note",
                                {{"volume", c.Number(g.volume_mm3(), 1)},
                                 {"alloy", label},
                                 {"density", c.Number(alloy->density_g_cm3)}})),
                 "</span>"));
    }
    std::string size;
    if (g.inner_diameter_mm() > 0) {
      size = c.T("fact.inner_diameter",
                 {{"diameter", c.Number(g.inner_diameter_mm())}});
    }
    if (g.band_width_mm() > 0) {
      size += StrCat(
          size.empty() ? "" : ", ",
          c.T("fact.band_width", {{"width", c.Number(g.band_width_mm())}}));
    }
    if (!size.empty()) t += Row(c.T("fact.dimensions"), HtmlEscape(size));
  }
  return t + "</table>\n";
}

std::string TimeHtml(const google::protobuf::Timestamp& t) {
  const std::string iso = google::protobuf::util::TimeUtil::ToString(t);
  return StrCat("<time datetime=\"", HtmlEscape(iso), "\">",
                HtmlEscape(iso.substr(0, 10)), "</time>");
}

std::string HistoryHtml(const Catalogue& c,
                        const v1::ListVersionsResponse& versions,
                        uint32_t certified) {
  std::string t = StrCat("<h2>", HtmlEscape(c.T("history.title")),
                         "</h2><table class=\"history\"><tr><th>",
                         HtmlEscape(c.T("history.version")), "</th><th>",
                         HtmlEscape(c.T("history.why")), "</th><th>",
                         HtmlEscape(c.T("history.when")), "</th><th>",
                         HtmlEscape(c.T("history.note")), "</th></tr>\n");
  for (const auto& v : versions.versions()) {
    t += StrCat("<tr", v.number() == certified ? " class=\"certified\"" : "",
                "><td>", v.number(), "</td><td>",
                HtmlEscape(c.Enum(v1::VersionReason_Name(v.reason()))),
                "</td><td>", TimeHtml(v.created_at()), "</td><td>",
                HtmlEscape(v.note()), "</td></tr>\n");
  }
  return t + "</table>\n";
}

}  // namespace loupe::server::http
