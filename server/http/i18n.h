#pragma once

// The verify page's words in the reader's language. Every string the page
// shows (server/http/verify_page.cc, buyer_facts.cc, evidence_text.cc,
// web/verify.js) comes from one catalogue per language,
// server/http/i18n/<lang>.json: a flat JSON object of key -> text, with
// {name} placeholders. The catalogues are compiled into the server
// (server/CMakeLists.txt) and parsed once.
//
// Adding a string: add its key to every catalogue (i18n_test and
// tests/web/i18n_test.mjs name what is missing or stray). Labels of enums
// are "enum.<VALUE_NAME>"; alloys "alloy.<name>" (geometry/
// jewelry_tables.h); stone types "stone.<type>".
//
// Thread-safe: catalogues are immutable once parsed.

#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace loupe::server::http {

// The supported languages, in the order the page's switch lists them.
[[nodiscard]] const std::vector<std::string>& Languages();

// A catalogue's source as compiled in: (language, JSON text), one per
// language of Languages() (generated: i18n_catalogues.cc).
struct CatalogueSource {
  std::string_view lang, json;
};
[[nodiscard]] const std::vector<CatalogueSource>& CatalogueSources();

class Catalogue {
 public:
  // The catalogue of `lang` (a Languages() entry); English for any other.
  [[nodiscard]] static const Catalogue& For(std::string_view lang);

  [[nodiscard]] const std::string& lang() const { return lang_; }
  [[nodiscard]] bool Has(std::string_view key) const;
  // The text of `key` with each {name} replaced by its value (as given:
  // callers escape for HTML). A missing key, which the tests prevent, gives
  // the key itself, so a page never fails for want of a word.
  [[nodiscard]] std::string T(
      std::string_view key,
      std::initializer_list<std::pair<std::string_view, std::string>> args = {})
      const;
  // The label of an enum value ("enum.VERSION_REASON_REPAIR"), or `name`
  // itself if the catalogue has none.
  [[nodiscard]] std::string Enum(std::string_view name) const;
  // `v` with `digits` decimals and this language's decimal separator.
  [[nodiscard]] std::string Number(double v, int digits = 2) const;
  [[nodiscard]] const std::map<std::string, std::string, std::less<>>& strings()
      const {
    return strings_;
  }

  // Parses `json` (a flat object of strings); throws on malformed input
  // (only the compiled-in catalogues are parsed, and the tests parse them).
  Catalogue(std::string lang, std::string_view json);

 private:
  std::string lang_;
  std::map<std::string, std::string, std::less<>> strings_;
};

// The reader's locale: a supported language, and the BCP 47 tag it came
// from (e.g. "en-GB"; the language alone when no region was given), which
// the page formats dates with and takes the ring-size system from.
struct Locale {
  std::string lang = "en";
  std::string tag = "en";
};

// `lang` (the page's ?lang= switch) if supported, else the first supported
// language of `accept_language` by quality ("fr-CH;q=0.9, en;q=0.8"), else
// English. Malformed parts of the header are skipped.
[[nodiscard]] Locale NegotiateLocale(std::string_view accept_language,
                                     std::string_view lang);

}  // namespace loupe::server::http
