#include "client/format.h"

#include <gtest/gtest.h>

#include <sstream>

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

// Text the CLI did not write is printed with terminal controls escaped:
// ANSI sequences, carriage returns, C1 CSI, bidirectional overrides and
// bytes that are not UTF-8; everything else as it is.
TEST(FormatTest, TerminalSafeEscapesControls) {
  EXPECT_EQ(TerminalSafe("police report 4711"), "police report 4711");
  EXPECT_EQ(TerminalSafe("perdu \xc3\xa0 Z\xc3\xbcrich \xf0\x9f\x92\x8d"),
            "perdu \xc3\xa0 Z\xc3\xbcrich \xf0\x9f\x92\x8d");
  EXPECT_EQ(TerminalSafe("found\x1b[2K\rVALID"), "found\\x1b[2K\\x0dVALID");
  EXPECT_EQ(TerminalSafe("a\nb\tc\x7f"), "a\\x0ab\\x09c\\x7f");
  EXPECT_EQ(TerminalSafe(std::string("nul\0", 4)), "nul\\x00");
  EXPECT_EQ(TerminalSafe("csi\xc2\x9b"
                         "2J"),
            "csi\\u009b2J");
  EXPECT_EQ(TerminalSafe("\xe2\x80\xae"
                         "dilav"),
            "\\u202edilav");
  EXPECT_EQ(TerminalSafe("raw \x9b and \xff\xc3"), "raw \\x9b and \\xff\\xc3");
  // Nothing that reaches the terminal is a control any more.
  const std::string out = TerminalSafe("\x1b\x07\x08\r\xc2\x85\xe2\x81\xa9");
  for (unsigned char c : out) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << out;
}

// Text a studio chose (titles, references, notes, file names) cannot
// drive the reader's terminal through `piece show` or `version show`.
TEST(FormatTest, PiecesAndVersionsPrintTextTerminalSafe) {
  v1::Piece piece;
  piece.set_id("pc_x");
  piece.set_title("Ring\xe2\x80\xae\x1b[2J");
  piece.set_studio_reference("A-1\xc2\x9b");
  std::ostringstream out;
  PrintPiece(out, piece);
  PrintPieceLine(out, piece);
  v1::TwinVersion version;
  version.set_note("resized\r\x1b[1AVALID");
  version.add_assets()->set_file_name("ring\x1b].stl");
  PrintVersion(out, version);
  PrintVersionLine(out, version);
  const std::string text = out.str();
  EXPECT_EQ(text.find('\x1b'), std::string::npos) << text;
  EXPECT_EQ(text.find('\r'), std::string::npos) << text;
  EXPECT_EQ(text.find("\xe2\x80\xae"), std::string::npos) << text;
  EXPECT_EQ(text.find("\xc2\x9b"), std::string::npos) << text;
  EXPECT_NE(text.find("Ring\\u202e\\x1b[2J"), std::string::npos) << text;
}

}  // namespace
}  // namespace loupe::client
