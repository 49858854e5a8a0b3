#include "base/utf8.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace loupe {
namespace {

// Every decoded code point, with 0xFFFFFFFF for each byte refused.
std::vector<char32_t> Decode(std::string_view text) {
  std::vector<char32_t> out;
  for (size_t pos = 0; pos < text.size();) {
    out.push_back(DecodeUtf8(text, &pos).value_or(0xFFFFFFFF));
  }
  return out;
}

TEST(Utf8Test, DecodesScalarValuesAndRefusesEverythingElse) {
  EXPECT_EQ(Decode("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x92\x8d"),
            (std::vector<char32_t>{'a', 0xe9, 0x20ac, 0x1f48d}));
  constexpr char32_t kBad = 0xFFFFFFFF;
  // A lone continuation byte, an overlong NUL, a surrogate, a truncated
  // sequence, a byte that starts nothing.
  EXPECT_EQ(Decode("\x80"), (std::vector<char32_t>{kBad}));
  EXPECT_EQ(Decode(std::string("\xc0\x80")),
            (std::vector<char32_t>{kBad, kBad}));
  EXPECT_EQ(Decode("\xed\xa0\x80").front(), kBad);
  EXPECT_EQ(Decode("\xe2\x82"), (std::vector<char32_t>{kBad, kBad}));
  EXPECT_EQ(Decode("\xff"), (std::vector<char32_t>{kBad}));
}

TEST(Utf8Test, TerminalControlsAreC0DelC1AndBidiOverrides) {
  for (char32_t c : {0x00, 0x08, 0x0a, 0x0d, 0x1b, 0x7f, 0x80, 0x9b, 0x9f,
                     0x202a, 0x202e, 0x2066, 0x2069}) {
    EXPECT_TRUE(IsTerminalControl(c)) << static_cast<uint32_t>(c);
  }
  for (char32_t c : {0x20, 0x41, 0x7e, 0xa0, 0xe9, 0x2029, 0x202f, 0x1f48d}) {
    EXPECT_FALSE(IsTerminalControl(c)) << static_cast<uint32_t>(c);
  }
}

}  // namespace
}  // namespace loupe
