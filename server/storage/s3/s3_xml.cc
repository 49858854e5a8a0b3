#include "server/storage/s3/s3_xml.h"

#include <ctime>

#include "base/str_cat.h"

namespace loupe::storage::s3::xml {
namespace {

struct Entity {
  std::string_view code;
  char ch;
};
constexpr Entity kEntities[] = {{"&amp;", '&'},
                                {"&lt;", '<'},
                                {"&gt;", '>'},
                                {"&quot;", '"'},
                                {"&apos;", '\''}};

std::string Decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    bool matched = false;
    if (text[i] == '&') {
      for (const auto& e : kEntities) {
        if (text.substr(i).starts_with(e.code)) {
          out += e.ch;
          i += e.code.size();
          matched = true;
          break;
        }
      }
    }
    if (!matched) out += text[i++];
  }
  return out;
}

}  // namespace

std::vector<std::string_view> Elements(std::string_view doc,
                                       std::string_view tag) {
  const std::string open = StrCat("<", tag, ">");
  const std::string close = StrCat("</", tag, ">");
  std::vector<std::string_view> out;
  size_t pos = 0;
  for (;;) {
    const size_t start = doc.find(open, pos);
    if (start == std::string_view::npos) break;
    const size_t body = start + open.size();
    const size_t end = doc.find(close, body);
    if (end == std::string_view::npos) break;
    out.push_back(doc.substr(body, end - body));
    pos = end + close.size();
  }
  return out;
}

std::vector<std::string> Values(std::string_view doc, std::string_view tag) {
  std::vector<std::string> out;
  for (std::string_view e : Elements(doc, tag)) out.push_back(Decode(e));
  return out;
}

std::string First(std::string_view doc, std::string_view tag) {
  auto all = Elements(doc, tag);
  return all.empty() ? std::string() : Decode(all.front());
}

std::string Escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    bool escaped = false;
    for (const auto& e : kEntities) {
      if (c == e.ch) {
        out += e.code;
        escaped = true;
        break;
      }
    }
    if (!escaped) out += c;
  }
  return out;
}

int64_t ParseTime(std::string_view text) {
  const std::string s(text);
  std::tm tm{};
  const char* formats[] = {"%Y-%m-%dT%H:%M:%S", "%a, %d %b %Y %H:%M:%S"};
  for (const char* f : formats) {
    tm = {};
    if (strptime(s.c_str(), f, &tm) != nullptr) return timegm(&tm);
  }
  return 0;
}

}  // namespace loupe::storage::s3::xml
