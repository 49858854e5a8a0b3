#include "server/http/i18n.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "base/str_cat.h"

namespace loupe::server::http {

const std::vector<std::string>& Languages() {
  static const auto* languages =
      new std::vector<std::string>{"en", "fr", "de", "it", "es", "ja"};
  return *languages;
}

Catalogue::Catalogue(std::string lang, std::string_view json)
    : lang_(std::move(lang)) {
  const nlohmann::json parsed = nlohmann::json::parse(json);
  if (!parsed.is_object()) {
    throw std::runtime_error(StrCat(lang_, ".json: not a JSON object"));
  }
  for (const auto& [key, value] : parsed.items()) {
    if (!value.is_string()) {
      throw std::runtime_error(StrCat(lang_, ".json: ", key, " not a string"));
    }
    strings_.emplace(key, value.get<std::string>());
  }
}

const Catalogue& Catalogue::For(std::string_view lang) {
  static const auto* all = [] {
    auto* out = new std::vector<std::unique_ptr<Catalogue>>;
    for (const auto& source : CatalogueSources()) {
      out->push_back(
          std::make_unique<Catalogue>(std::string(source.lang), source.json));
    }
    return out;
  }();
  for (const auto& c : *all) {
    if (c->lang() == lang) return *c;
  }
  return *all->front();  // English is first.
}

bool Catalogue::Has(std::string_view key) const {
  return strings_.find(key) != strings_.end();
}

std::string Catalogue::T(
    std::string_view key,
    std::initializer_list<std::pair<std::string_view, std::string>> args)
    const {
  auto it = strings_.find(key);
  if (it == strings_.end()) return std::string(key);
  const std::string& text = it->second;
  std::string out;
  for (size_t i = 0; i < text.size();) {
    const size_t close = text[i] == '{' ? text.find('}', i) : std::string::npos;
    if (close != std::string::npos) {
      const std::string_view name(text.data() + i + 1, close - i - 1);
      auto arg = std::find_if(args.begin(), args.end(),
                              [&](const auto& a) { return a.first == name; });
      if (arg != args.end()) {
        out += arg->second;
        i = close + 1;
        continue;
      }
    }
    out += text[i++];
  }
  return out;
}

std::string Catalogue::Enum(std::string_view name) const {
  const std::string key = StrCat("enum.", name);
  return Has(key) ? T(key) : std::string(name);
}

std::string Catalogue::Number(double v, int digits) const {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", digits, v);
  std::string out = b;
  const std::string decimal = T("number.decimal");
  if (decimal != ".") {
    if (auto dot = out.find('.'); dot != std::string::npos) {
      out.replace(dot, 1, decimal);
    }
  }
  return out;
}

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(c));
  return out;
}

bool Supported(std::string_view lang) {
  const auto& all = Languages();
  return std::find(all.begin(), all.end(), lang) != all.end();
}

// A language tag of letters, digits and '-' only (it is echoed into the
// page), at most 35 characters.
bool PlainTag(std::string_view tag) {
  return !tag.empty() && tag.size() <= 35 &&
         std::all_of(tag.begin(), tag.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '-';
         });
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

Locale NegotiateLocale(std::string_view accept_language,
                       std::string_view lang) {
  if (Supported(Lower(lang))) return {Lower(lang), Lower(lang)};
  struct Choice {
    double q;
    size_t order;
    std::string tag;
  };
  std::vector<Choice> choices;
  size_t order = 0;
  while (!accept_language.empty() && order < 32) {
    const size_t comma = accept_language.find(',');
    std::string_view part = accept_language.substr(0, comma);
    accept_language = comma == std::string_view::npos
                          ? std::string_view()
                          : accept_language.substr(comma + 1);
    const size_t semi = part.find(';');
    const std::string_view tag = Trim(part.substr(0, semi));
    double q = 1;
    if (semi != std::string_view::npos) {
      const std::string_view param = Trim(part.substr(semi + 1));
      if (!param.starts_with("q=")) continue;
      q = std::strtod(std::string(param.substr(2)).c_str(), nullptr);
    }
    if (PlainTag(tag) && q > 0) choices.push_back({q, order++, Lower(tag)});
  }
  std::stable_sort(choices.begin(), choices.end(),
                   [](const Choice& a, const Choice& b) { return a.q > b.q; });
  for (const auto& c : choices) {
    const std::string primary = c.tag.substr(0, c.tag.find('-'));
    if (Supported(primary)) return {primary, c.tag};
  }
  return {};
}

}  // namespace loupe::server::http
