// Hostile JSON: every parser of untrusted input refuses documents that are
// too deep, too large or ambiguous (duplicate keys), naming the problem,
// instead of crashing; owner-signed payloads must be canonical.
#include "crypto/json_limits.h"

#include <gtest/gtest.h>

#include "crypto/bundle.h"
#include "crypto/dsse.h"
#include "crypto/key_file.h"
#include "crypto/piece_status.h"
#include "crypto/statement.h"
#include "crypto/trust_root.h"

namespace loupe::crypto {
namespace {

std::string Nested(size_t depth, std::string_view inner = "1") {
  return std::string(depth, '[') + std::string(inner) + std::string(depth, ']');
}

// "...: nested deeper than 64 levels" for `status`, and no crash.
void ExpectTooDeep(const absl::Status& status, std::string_view what) {
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << what << ": " << status;
  EXPECT_NE(status.message().find("nested deeper than 64 levels"),
            std::string::npos)
      << what << ": " << status;
}

TEST(JsonLimitsTest, DepthIsBoundedOutsideStrings) {
  EXPECT_TRUE(ParseJson(Nested(64), "x").ok());
  ExpectTooDeep(ParseJson(Nested(65), "x").status(), "65 levels");
  EXPECT_EQ(JsonDepth(R"({"a":[{"b":"[[[[{{{{"}]})", 100), 3);
  EXPECT_EQ(JsonDepth(R"(["\"[[[[", "\\", [1]])", 100), 2);
  // The scan stops early: a huge nesting is not walked to its end.
  EXPECT_EQ(JsonDepth(Nested(1 << 20), 64), 65);
}

TEST(JsonLimitsTest, SizeIsBoundedBeforeParsing) {
  auto r = ParseJson("[1, 2, 3]", "thing", JsonLimits{8, 64});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "thing: larger than 8 bytes (9 bytes)");
  EXPECT_TRUE(ParseJson("[1,2,3]", "thing", JsonLimits{8, 64}).ok());
}

TEST(JsonLimitsTest, DuplicateKeysAreRefusedByName) {
  auto r = ParseJson(R"({"a":1,"b":{"c":1,"c":2}})", "payload");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("payload: duplicate key \"c\""),
            std::string::npos)
      << r.status();
  // The same key in different objects is fine.
  EXPECT_TRUE(ParseJson(R"({"c":{"c":1},"d":[{"c":1},{"c":2}]})", "x").ok());
  // A key with control bytes is shown escaped.
  r = ParseJson("{\"\\u0007\":1,\"\\u0007\":2}", "x");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("\"\\u0007\""), std::string::npos)
      << r.status();
}

TEST(JsonLimitsTest, NotJsonNamesWhere) {
  auto r = ParseJson("{\"a\":", "bundle");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().find("bundle: not JSON"), 0u) << r.status();
  EXPECT_FALSE(ParseJson("", "x").ok());
  EXPECT_FALSE(ParseJson("{} {}", "x").ok());
  EXPECT_FALSE(ParseJson("\"\xff\"", "x").ok());  // Not UTF-8.
}

TEST(JsonLimitsTest, CanonicalPayloadsOnly) {
  EXPECT_TRUE(ParseCanonicalJson(R"({"a":1,"b":"x"})", "p").ok());
  for (const char* text : {R"({"b":"x","a":1})", R"({"a": 1,"b":"x"})",
                           R"({"a":1,"b":"x"} )", R"({"a":1.0,"b":"x"})"}) {
    auto r = ParseCanonicalJson(text, "p");
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_NE(r.status().message().find("p: not canonical JSON"),
              std::string::npos)
        << r.status();
  }
}

// The issue's crash: a deeply nested bundle of 400 KB took `loupe verify`
// down with SIGSEGV (copying and comparing recurse once per level).
TEST(JsonLimitsTest, DeeplyNestedInputIsRefusedByEveryParser) {
  const std::string deep = Nested(200000);
  ExpectTooDeep(ParseBundle(std::string(R"({"format":")") + kBundleFormat +
                            R"(","certificate":)" + deep + "}")
                    .status(),
                "bundle");
  ExpectTooDeep(EnvelopeFromJson(R"({"payload":)" + deep + "}").status(),
                "envelope");
  ExpectTooDeep(ParseRoot(R"({"_type":)" + deep + "}").status(), "root");
  ExpectTooDeep(ParseStatement(R"({"predicate":)" + deep + "}").status(),
                "statement");
  ExpectTooDeep(OpenSigningKey(R"({"kdf":)" + deep + "}", "pw").status(),
                "key file");
  auto owner = SigningKey::Generate();
  ASSERT_TRUE(owner.ok());
  const DsseEnvelope report = SignEnvelope(
      kStatusReportPayloadType, R"({"action":)" + deep + "}", *owner);
  ExpectTooDeep(VerifyStatusReport(report, owner->public_key()).status(),
                "owner report");
  const DsseEnvelope transfer = SignEnvelope(
      kOwnerTransferPayloadType, R"({"piece_id":)" + deep + "}", *owner);
  ExpectTooDeep(ParseOwnerTransfer(transfer).status(), "transfer");
}

// Readers that keep the first and the last of two "sequence" keys would
// disagree on what the owner signed: such payloads are refused.
TEST(JsonLimitsTest, OwnerPayloadsWithDuplicateKeysAreRefused) {
  auto owner = SigningKey::Generate();
  ASSERT_TRUE(owner.ok());
  const DsseEnvelope report = SignEnvelope(
      kStatusReportPayloadType,
      R"({"action":"report_lost","piece_id":"pc_1","reason":"lost",)"
      R"("sequence":1,"sequence":7})",
      *owner);
  auto verified = VerifyStatusReport(report, owner->public_key());
  ASSERT_FALSE(verified.ok()) << "accepted sequence " << verified->sequence;
  EXPECT_NE(verified.status().message().find("duplicate key \"sequence\""),
            std::string::npos)
      << verified.status();

  const std::string next(64, 'b');
  const DsseEnvelope transfer = SignEnvelope(
      kOwnerTransferPayloadType,
      R"({"new_owner":")" + std::string(64, 'a') + R"(","new_owner":")" + next +
          R"(","piece_id":"pc_1","sequence":1})",
      *owner);
  auto parsed = ParseOwnerTransfer(transfer);
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("duplicate key \"new_owner\""),
            std::string::npos)
      << parsed.status();
  // Whitespace or reordering: signed bytes with a second reading, refused.
  const DsseEnvelope spaced = SignEnvelope(
      kStatusReportPayloadType,
      R"({"action": "report_lost","piece_id":"pc_1","reason":"lost",)"
      R"("sequence":1})",
      *owner);
  auto r = VerifyStatusReport(spaced, owner->public_key());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not canonical JSON"), std::string::npos)
      << r.status();
  // What the client signs is canonical and accepted.
  auto good = VerifyStatusReport(
      SignStatusReport({"pc_1", "report_lost", "lost", 1}, *owner),
      owner->public_key());
  ASSERT_TRUE(good.ok()) << good.status();
  EXPECT_EQ(good->sequence, 1u);
}

TEST(JsonLimitsTest, SignedDocumentsWithDuplicateKeysAreRefused) {
  auto r =
      ParseBundle(R"({"format":"a","format":"b","certificate":{},"roots":[]})");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("duplicate key \"format\""),
            std::string::npos)
      << r.status();
  auto e = EnvelopeFromJson(
      R"({"payload":"e30=","payload":"W10=","payloadType":"t",)"
      R"("signatures":[]})");
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("duplicate key \"payload\""),
            std::string::npos);
  auto root = ParseRoot(R"({"_type":"a","origin":"o","origin":"p"})");
  ASSERT_FALSE(root.ok());
  EXPECT_NE(root.status().message().find("duplicate key \"origin\""),
            std::string::npos);
  auto statement = ParseStatement(R"({"subject":[],"subject":[]})");
  ASSERT_FALSE(statement.ok());
  EXPECT_NE(statement.status().message().find("duplicate key \"subject\""),
            std::string::npos);
}

}  // namespace
}  // namespace loupe::crypto
