#include "crypto/random.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace loupe::crypto {
namespace {

TEST(RandomTest, IdsHavePrefixLengthAndAlphabet) {
  const std::string id = RandomId("pc_");
  ASSERT_EQ(id.size(), 3u + 26u);
  EXPECT_EQ(id.substr(0, 3), "pc_");
  for (char c : id.substr(3)) {
    EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7')) << c;
  }
}

TEST(RandomTest, IdsAndTokensDoNotRepeat) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    EXPECT_TRUE(seen.insert(RandomId("x")).second);
  }
  const std::string token = NewBearerToken();
  EXPECT_EQ(token.rfind("loupe_", 0), 0u);
  EXPECT_EQ(token.size(), 6u + 52u);
  EXPECT_NE(token, NewBearerToken());
}

TEST(RandomTest, ConstantTimeEquals) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
}

}  // namespace
}  // namespace loupe::crypto
