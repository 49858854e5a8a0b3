#include "crypto/canonical_json.h"

#include <gtest/gtest.h>

namespace loupe::crypto {
namespace {

using Json = nlohmann::json;

std::string Canonical(const std::string& text) {
  auto out = CanonicalJson(Json::parse(text));
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? *out : "";
}

TEST(CanonicalJsonTest, SameFactsSameBytesWhateverTheOrderOrSpacing) {
  const std::string a = Canonical(
      R"({"piece":"pc_x","assay":{"fineness_per_mille":750,"alloy":"18k"},
          "stones":[{"carat":1.02,"colour":"D"}]})");
  const std::string b = Canonical(
      R"({ "stones" : [ { "colour" : "D", "carat" : 1.020 } ],
           "assay" : { "alloy" : "18k", "fineness_per_mille" : 750 },
           "piece" : "pc_x" })");
  EXPECT_EQ(a, b);
  EXPECT_EQ(
      a, R"({"assay":{"alloy":"18k","fineness_per_mille":750},"piece":"pc_x",)"
         R"("stones":[{"carat":1.02,"colour":"D"}]})");
  for (int run = 0; run < 3; ++run) {
    EXPECT_EQ(Canonical(R"({"b":1,"a":[true,false,null]})"),
              R"({"a":[true,false,null],"b":1})");
  }
}

TEST(CanonicalJsonTest, NumbersInShortestFixedForm) {
  const std::pair<const char*, const char*> cases[] = {
      {"17", "17"},
      {"17.0", "17"},
      {"-0.0", "0"},
      {"1.02", "1.02"},
      {"0.1", "0.1"},
      {"1e-6", "0.000001"},
      {"123456.789", "123456.789"},
      {"1e20", "100000000000000000000"},
      {"-3.5", "-3.5"},
      {"18446744073709551615", "18446744073709551615"},
      {"-9223372036854775808", "-9223372036854775808"},
      {"0.30000000000000004", "0.30000000000000004"}};
  for (const auto& [in, out] : cases) {
    EXPECT_EQ(Canonical(std::string("[") + in + "]"),
              std::string("[") + out + "]")
        << in;
  }
  for (const char* bad : {"[1e21]", "[1e-7]"}) {
    auto s = CanonicalJson(Json::parse(bad));
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(s.status().message().find("$[0]"), std::string::npos);
  }
  Json nan = {{"carat", std::nan("")}};
  auto s = CanonicalJson(nan);
  EXPECT_NE(s.status().message().find("$.carat"), std::string::npos)
      << s.status();
}

TEST(CanonicalJsonTest, StringsEscapeOnlyWhatMust) {
  Json value = std::string("a\"b\\c\n\t\x01/é€💎");
  EXPECT_EQ(*CanonicalJson(value), "\"a\\\"b\\\\c\\n\\t\\u0001/é€💎\"");
  for (const char* bad : {"\xff", "\xc0\xaf", "\xed\xa0\x80", "\xe2\x82"}) {
    Json invalid = Json::object();
    invalid[std::string("k")] = std::string(bad);
    // nlohmann stores the bytes; the canonical encoder refuses them.
    auto s = CanonicalJson(invalid);
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(s.status().message().find("$.k"), std::string::npos);
  }
}

}  // namespace
}  // namespace loupe::crypto
