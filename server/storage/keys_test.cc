#include "server/storage/keys.h"

#include <gtest/gtest.h>

namespace loupe::storage::keys {
namespace {

TEST(KeysTest, VersionKeysSortNumericallyWithinAPiece) {
  EXPECT_LT(Version("pc_a", 2), Version("pc_a", 10));
  EXPECT_LT(Version("pc_a", 255), Version("pc_a", 256));
  EXPECT_TRUE(Version("pc_a", 7).starts_with(VersionPrefix("pc_a")));
  EXPECT_FALSE(Version("pc_ab", 1).starts_with(VersionPrefix("pc_a")));
  EXPECT_EQ(VersionNumber(Version("pc_a", 70000)), 70000u);
  EXPECT_EQ(VersionNumber("x"), std::nullopt);
}

TEST(KeysTest, ChunkRangeCoversEveryChunkOfOneContentOnly) {
  const std::string a(16, 'a');
  std::string b(16, 'a');
  b[15] = 'b';
  for (uint32_t i : {0u, 1u, 4095u, 0xffffffffu}) {
    EXPECT_GE(Chunk(a, i), ChunkPrefix(a));
    EXPECT_LT(Chunk(a, i), ChunkPrefixEnd(a));
  }
  EXPECT_GE(Chunk(b, 0), ChunkPrefixEnd(a));
}

TEST(KeysTest, StudioKeysDoNotCollideAcrossStudios) {
  EXPECT_FALSE(StudioPiece("ab", "pc_x").starts_with(StudioPiecePrefix("a")));
  EXPECT_NE(StudioReference("a", "b\x01"), StudioReference("a\x01", "b"));
}

TEST(KeysTest, BigEndianRoundTrips) {
  std::string s;
  PutBigEndian64(&s, 0x0102030405060708ull);
  EXPECT_EQ(s, std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8));
  EXPECT_EQ(GetBigEndian64(s), 0x0102030405060708ull);
  s.clear();
  PutBigEndian32(&s, 0xdeadbeef);
  EXPECT_EQ(GetBigEndian32(s), 0xdeadbeefu);
}

}  // namespace
}  // namespace loupe::storage::keys
