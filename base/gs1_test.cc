#include "base/gs1.h"

#include <gtest/gtest.h>

namespace loupe {
namespace {

TEST(Gs1, AcceptsGtinsWithTheirCheckDigit) {
  EXPECT_TRUE(ValidateGtin("gtin", "4006381333931").ok());   // GTIN-13
  EXPECT_TRUE(ValidateGtin("gtin", "09521234543213").ok());  // GTIN-14
  EXPECT_TRUE(ValidateGtin("gtin", "96385074").ok());        // GTIN-8
  EXPECT_TRUE(ValidateGtin("gtin", "036000291452").ok());    // GTIN-12
}

TEST(Gs1, RefusesAWrongCheckDigitNamingTheFieldAndTheRightDigit) {
  const absl::Status s = ValidateGtin("piece.gtin", "4006381333932");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("piece.gtin"), std::string_view::npos);
  EXPECT_NE(s.message().find("needs 1"), std::string_view::npos) << s;
  EXPECT_FALSE(ValidateGtin("gtin", "40063813339").ok());    // 11 digits
  EXPECT_FALSE(ValidateGtin("gtin", "400638133393A").ok());  // a letter
  EXPECT_FALSE(ValidateGtin("gtin", "").ok());
}

TEST(Gs1, SerialNumbersUseCharacterSet82) {
  EXPECT_TRUE(ValidateGs1Serial("serial", "R-2027/001").ok());
  EXPECT_FALSE(ValidateGs1Serial("serial", "").ok());
  EXPECT_FALSE(ValidateGs1Serial("serial", "123456789012345678901").ok());
  const absl::Status s = ValidateGs1Serial("serial", "a b");
  EXPECT_NE(s.message().find("serial: ' '"), std::string_view::npos) << s;
}

TEST(Gs1, DigitalLinkPathPadsTheGtinAndEscapesTheSerial) {
  EXPECT_EQ(Gs1DigitalLinkPath("4006381333931", "R-2027/001"),
            "/01/04006381333931/21/R-2027%2F001");
  EXPECT_EQ(Gs1DigitalLinkPath("09521234543213", "12345"),
            "/01/09521234543213/21/12345");
}

}  // namespace
}  // namespace loupe
