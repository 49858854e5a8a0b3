#pragma once

// The verify page's facts about a piece in the buyer's words
// (verify_page.cc): human labels for every enum, the ring size in the
// reader's system, the weight with its alloy, in the reader's language
// (i18n.h). Everything returned is HTML with every stored value escaped.
// Pure functions; thread-safe.

#include <string>
#include <string_view>

#include "loupe/v1/registry.pb.h"
#include "loupe/v1/twin.pb.h"
#include "server/http/i18n.h"

namespace loupe::server::http {

// `s` with < > & " ' escaped for HTML text and attribute values.
[[nodiscard]] std::string HtmlEscape(std::string_view s);

// The ring-size system a reader of `locale` uses: from its region when it
// names one (US, CA: US; GB, AU, IE, NZ, ZA: UK; IT, ES, CH: IT; JP: JP;
// others: ISO), else from its language (en: US, it and es: IT, ja: JP,
// others: ISO).
[[nodiscard]] v1::RingSizeSystem ReaderRingSystem(const Locale& locale);

// The ring size of `v` for a reader who uses `reader`: the studio's stated
// size as stated, and, when the reader uses another system or the studio
// stated none, the size derived from the inner diameter (the studio's, or
// the one Loupe measured on the 3D model, and labelled so), with the other
// systems after it. Empty when there is neither a stated size nor a
// diameter.
[[nodiscard]] std::string RingSizeHtml(const Catalogue& c,
                                       v1::RingSizeSystem reader,
                                       const v1::TwinVersion& v);

// The facts table (<table class="facts">) of `piece` at version `v`.
[[nodiscard]] std::string FactsHtml(const Catalogue& c, const Locale& locale,
                                    const v1::Piece& piece,
                                    const v1::TwinVersion& v);

// The history table (<table class="history">), the certified version
// marked; dates as <time datetime> that the page's script localises.
[[nodiscard]] std::string HistoryHtml(const Catalogue& c,
                                      const v1::ListVersionsResponse& versions,
                                      uint32_t certified);

// <time datetime="RFC 3339">YYYY-MM-DD</time> of `t` (the script writes
// it in the reader's locale).
[[nodiscard]] std::string TimeHtml(const google::protobuf::Timestamp& t);

}  // namespace loupe::server::http
