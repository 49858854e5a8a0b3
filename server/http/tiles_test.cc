#include "server/http/tiles.h"

#include <gtest/gtest.h>

namespace loupe::server::http {
namespace {

TEST(TilesTest, IndexesAreWrittenInGroupsOfThree) {
  EXPECT_EQ(EncodeTileIndex(0), "000");
  EXPECT_EQ(EncodeTileIndex(67), "067");
  EXPECT_EQ(EncodeTileIndex(1000), "x001/000");
  EXPECT_EQ(EncodeTileIndex(1234067), "x001/x234/067");
  for (uint64_t n :
       {0ull, 5ull, 999ull, 1000ull, 1234067ull, 987654321012ull}) {
    auto tile = ParseTilePath("3/" + EncodeTileIndex(n));
    ASSERT_TRUE(tile.ok()) << n << " " << tile.status();
    EXPECT_EQ(tile->index, n);
    EXPECT_EQ(tile->level, 3);
    EXPECT_TRUE(tile->full());
    EXPECT_EQ(TilePathString(*tile), "3/" + EncodeTileIndex(n));
  }
}

TEST(TilesTest, PartialAndEntryTilesParse) {
  auto p = ParseTilePath("0/x001/234.p/17");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->index, 1234u);
  EXPECT_EQ(p->width, 17);
  EXPECT_FALSE(p->entries);
  auto e = ParseTilePath("entries/005.p/255");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_TRUE(e->entries);
  EXPECT_EQ(e->index, 5u);
  EXPECT_EQ(e->width, 255);
  EXPECT_EQ(TilePathString(*e), "entries/005.p/255");
}

TEST(TilesTest, NonCanonicalPathsAreRefusedNamingThePart) {
  struct Case {
    const char* path;
    const char* part;
  };
  for (const Case& c :
       {Case{"0/1", "index"}, Case{"0/x000/001", "index"},
        Case{"0/001/002", "index"}, Case{"0/x1/002", "index"},
        Case{"0/abc", "index"}, Case{"64/000", "level"},
        Case{"01/000", "level"}, Case{"-1/000", "level"},
        Case{"0/000.p/0", "width"}, Case{"0/000.p/256", "width"},
        Case{"0/000.p/07", "width"}, Case{"0", "path"},
        Case{"entries/000.p/", "width"},
        Case{"0/x001/x002/x003/x004/x005/x006/x007/008", "index"}}) {
    auto tile = ParseTilePath(c.path);
    EXPECT_FALSE(tile.ok()) << c.path;
    EXPECT_TRUE(absl::IsInvalidArgument(tile.status())) << c.path;
    EXPECT_TRUE(std::string(tile.status().message()).starts_with(c.part))
        << c.path << ": " << tile.status();
  }
}

TEST(TilesTest, EntryBundlesPrefixEachEntryWithItsLength) {
  auto bundle = EntryBundle({"ab", std::string(300, 'x'), ""});
  ASSERT_TRUE(bundle.ok());
  ASSERT_EQ(bundle->size(), 2 + 2 + 2 + 300 + 2u);
  EXPECT_EQ(bundle->substr(0, 4), std::string("\0\2ab", 4));
  EXPECT_EQ(static_cast<uint8_t>((*bundle)[4]), 1);
  EXPECT_EQ(static_cast<uint8_t>((*bundle)[5]), 44);  // 300 = 0x012c
  EXPECT_FALSE(EntryBundle({std::string(70000, 'x')}).ok());
}

}  // namespace
}  // namespace loupe::server::http
