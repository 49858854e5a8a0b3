#pragma once

// UTF-8 decoding and the characters that must never reach a terminal as
// they are: shared by the server, which refuses them in text it will show
// (status reasons), and the CLI, which escapes them when it prints text it
// did not write.

#include <cstddef>
#include <optional>
#include <string_view>

namespace loupe {

// Decodes the code point at text[*pos] and advances *pos past it; nullopt
// (and *pos advanced by one byte) for a byte that does not start a valid,
// shortest-form UTF-8 sequence of a Unicode scalar value.
[[nodiscard]] inline std::optional<char32_t> DecodeUtf8(std::string_view text,
                                                        size_t* pos) {
  const auto byte = [&](size_t i) {
    return static_cast<unsigned char>(text[i]);
  };
  const unsigned char lead = byte(*pos);
  size_t length = 0;
  char32_t cp = 0;
  char32_t min = 0;
  if (lead < 0x80) {
    ++*pos;
    return lead;
  } else if ((lead & 0xe0) == 0xc0) {
    length = 2, cp = lead & 0x1f, min = 0x80;
  } else if ((lead & 0xf0) == 0xe0) {
    length = 3, cp = lead & 0x0f, min = 0x800;
  } else if ((lead & 0xf8) == 0xf0) {
    length = 4, cp = lead & 0x07, min = 0x10000;
  }
  if (length == 0 || *pos + length > text.size()) {
    ++*pos;
    return std::nullopt;
  }
  for (size_t i = 1; i < length; ++i) {
    if ((byte(*pos + i) & 0xc0) != 0x80) {
      ++*pos;
      return std::nullopt;
    }
    cp = (cp << 6) | (byte(*pos + i) & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
    ++*pos;
    return std::nullopt;
  }
  *pos += length;
  return cp;
}

// True for characters a terminal acts on instead of showing: C0 controls
// (ESC starts ANSI sequences; CR and BS overwrite what was printed), DEL,
// C1 controls (U+009B is a one-character CSI), and the bidirectional
// embeddings, overrides and isolates, which reorder the text around them.
[[nodiscard]] constexpr bool IsTerminalControl(char32_t c) {
  return c < 0x20 || (c >= 0x7f && c <= 0x9f) || (c >= 0x202a && c <= 0x202e) ||
         (c >= 0x2066 && c <= 0x2069);
}

}  // namespace loupe
