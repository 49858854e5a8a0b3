#include "crypto/bundle.h"

#include <gtest/gtest.h>

namespace loupe::crypto {
namespace {

TEST(BundleTest, RoundTripsAndRefusesMalformedOnes) {
  auto key = SigningKey::Generate();
  Bundle bundle{SignEnvelope("t", "certificate", *key),
                {SignEnvelope("r", "root v2", *key)},
                std::nullopt,
                std::nullopt,
                {}};
  const std::string text = EncodeBundle(bundle);
  auto parsed = ParseBundle(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->certificate.payload, "certificate");
  ASSERT_EQ(parsed->roots.size(), 1u);
  EXPECT_EQ(parsed->roots[0].payload, "root v2");
  for (size_t n = 0; n + 1 < text.size(); n += 5) {
    auto s = ParseBundle(text.substr(0, n)).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << n;
    EXPECT_EQ(std::string(s.message()).rfind("bundle", 0), 0u) << s;
  }
  auto no_sig = ParseBundle(
      R"({"format":"loupe-certificate-bundle-v1","certificate":{"payload":"eA==","payloadType":"t","signatures":[{}]}})");
  EXPECT_NE(
      no_sig.status().message().find("bundle.certificate.signatures[0].sig"),
      std::string::npos)
      << no_sig.status();
  EXPECT_FALSE(ParseBundle(R"({"format":"other"})").ok());
}

}  // namespace
}  // namespace loupe::crypto
