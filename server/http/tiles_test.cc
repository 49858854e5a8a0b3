#include "server/http/tiles.h"

#include <gtest/gtest.h>

namespace loupe::server::http {
namespace {

TEST(TilesTest, IndexesAreWrittenInGroupsOfThree) {
  EXPECT_EQ(EncodeTileIndex(0), "000");
  EXPECT_EQ(EncodeTileIndex(67), "067");
  EXPECT_EQ(EncodeTileIndex(1000), "x001/000");
  EXPECT_EQ(EncodeTileIndex(1234067), "x001/x234/067");
  // Level 3 tiles start at entry N * 2^32: N stays below 2^32.
  for (uint64_t n : {0ull, 5ull, 999ull, 1000ull, 1234067ull, 4294967295ull}) {
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
        Case{"-0/000", "level"},  // Found by tile_path_fuzzer.
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

// Issue 15: N = 2^56 made N * 256 wrap to 0, so the gateway served tile 0
// for /tile/0/x072/x057/x594/x037/x927/936.p/1.
TEST(TilesTest, IndexesBeyondAnyLogAreRefused) {
  const uint64_t first_beyond = uint64_t{1} << 56;
  EXPECT_EQ(EncodeTileIndex(first_beyond), "x072/x057/x594/x037/x927/936");
  for (const std::string path :
       {"0/x072/x057/x594/x037/x927/936.p/1", "0/x072/x057/x594/x037/x927/936",
        "entries/x072/x057/x594/x037/x927/936",
        "0/x018/x446/x744/x073/x709/x551/615", "1/x281/x474/x976/710/656",
        "7/001", "8/000", "63/000"}) {
    auto tile = ParseTilePath(path);
    ASSERT_FALSE(tile.ok()) << path << " parsed as " << tile->index;
    EXPECT_TRUE(absl::IsInvalidArgument(tile.status()));
    EXPECT_TRUE(std::string(tile.status().message()).starts_with("index"))
        << path << ": " << tile.status();
  }
  // The last tiles of a 2^64-entry log still parse.
  for (const std::string& path :
       {"0/" + EncodeTileIndex(first_beyond - 1),
        "entries/" + EncodeTileIndex(first_beyond - 1),
        "1/" + EncodeTileIndex((uint64_t{1} << 48) - 1),
        std::string("7/000")}) {
    EXPECT_TRUE(ParseTilePath(path).ok()) << path;
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
