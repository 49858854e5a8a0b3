#include "client/format.h"

#include <gtest/gtest.h>

#include "client/registry_client.h"

namespace loupe::client {
namespace {

TEST(FormatTest, EnumShortNamesRoundTrip) {
  const auto* d = v1::VersionReason_descriptor();
  EXPECT_EQ(ShortName(d, v1::VERSION_REASON_STONE_REPLACEMENT),
            "stone-replacement");
  int value = 0;
  for (const char* text : {"stone-replacement", "STONE_REPLACEMENT",
                           "VERSION_REASON_STONE_REPLACEMENT"}) {
    ASSERT_TRUE(ParseShortName(d, text, &value)) << text;
    EXPECT_EQ(value, v1::VERSION_REASON_STONE_REPLACEMENT);
  }
  EXPECT_FALSE(ParseShortName(d, "unspecified", &value));
  EXPECT_FALSE(ParseShortName(d, "melt", &value));
  EXPECT_EQ(ShortNames(v1::PieceKind_descriptor()).substr(0, 10), "ring, band");
}

TEST(FormatTest, JsonUsesProtoFieldNamesAndRejectsUnknownFields) {
  v1::TwinVersion v;
  v.set_parent_number(3);
  v.mutable_ring_size()->set_value("N 1/2");
  const std::string json = ToJson(v);
  EXPECT_NE(json.find("\"parent_number\":3"), std::string::npos) << json;
  v1::TwinVersion back;
  ASSERT_TRUE(FromJson(json, &back).ok());
  EXPECT_EQ(back.ring_size().value(), "N 1/2");
  EXPECT_FALSE(FromJson("{\"parent_numbr\": 1}", &back).ok());
  EXPECT_FALSE(FromJson("{\"reason\": \"MELTED\"}", &back).ok());
  ASSERT_TRUE(FromJson("{\"reason\": \"VERSION_REASON_RESIZE\"}", &back).ok());
  EXPECT_EQ(back.reason(), v1::VERSION_REASON_RESIZE);
}

TEST(FormatTest, MediaTypes) {
  EXPECT_EQ(MediaTypeFor("dir/Ring.STL"), "model/stl");
  EXPECT_EQ(MediaTypeFor("a.obj"), "model/obj");
  EXPECT_EQ(MediaTypeFor("a.ply"), "application/x-ply");
  EXPECT_EQ(MediaTypeFor("noext"), "application/octet-stream");
}

}  // namespace
}  // namespace loupe::client
