#include "crypto/sha256.h"

#include <gtest/gtest.h>

#include <string>

namespace loupe::crypto {
namespace {

// FIPS 180-2 known answers.
TEST(Sha256Test, KnownAnswers) {
  EXPECT_EQ(Sha256::HexOf(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256::HexOf("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(
      Sha256::HexOf("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256Test, IncrementalEqualsOneShotAndResets) {
  std::string million(1000000, 'a');
  Sha256 h;
  for (size_t i = 0; i < million.size(); i += 4093) {
    h.Update(std::string_view(million).substr(i, 4093));
  }
  EXPECT_EQ(ToHex(h.Finish()),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  h.Update("abc");  // Finish() reset the state.
  EXPECT_EQ(ToHex(h.Finish()), Sha256::HexOf("abc"));
}

TEST(Sha256Test, ParseHexRoundTripsAndRejectsBadInput) {
  const std::string hex = Sha256::HexOf("loupe");
  auto parsed = ParseSha256Hex(hex);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(ToHex(*parsed), hex);
  EXPECT_FALSE(ParseSha256Hex(hex.substr(1)).ok());
  std::string upper = hex;
  upper[0] = 'A';
  EXPECT_FALSE(ParseSha256Hex(upper).ok());
  std::string bad = hex;
  bad[10] = 'g';
  EXPECT_FALSE(IsSha256Hex(bad));
}

}  // namespace
}  // namespace loupe::crypto
