#include "crypto/dsse.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "crypto/sha256.h"

namespace loupe::crypto {
namespace {

constexpr char kType[] = "application/vnd.in-toto+json";

TEST(DsseTest, PreAuthEncodingKnownAnswer) {
  EXPECT_EQ(PreAuthEncoding("http://example.com/HelloWorld", "hello world"),
            "DSSEv1 29 http://example.com/HelloWorld 11 hello world");
  EXPECT_EQ(PreAuthEncoding("", ""), "DSSEv1 0  0 ");
}

TEST(DsseTest, Base64BothAlphabetsWithAndWithoutPadding) {
  const std::string bytes = "\xfb\xff\xfe loupe";
  EXPECT_EQ(Base64Encode(bytes), "+//+IGxvdXBl");
  for (const char* text : {"+//+IGxvdXBl", "-__-IGxvdXBl"}) {
    auto decoded = Base64Decode(text);
    ASSERT_TRUE(decoded.ok()) << text;
    EXPECT_EQ(*decoded, bytes);
  }
  EXPECT_EQ(*Base64Decode("YQ=="), "a");
  EXPECT_EQ(*Base64Decode("YQ"), "a");
  EXPECT_FALSE(Base64Decode("Y$==").ok());
}

class EnvelopeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto key = SigningKey::Generate();
    ASSERT_TRUE(key.ok());
    key_ = std::make_unique<SigningKey>(*std::move(key));
  }
  KeyLookup Trusting(const SigningKey& key) {
    const PublicKey pub = key.public_key();
    return [pub](std::string_view keyid) -> std::optional<PublicKey> {
      if (keyid == KeyId(pub)) return pub;
      return std::nullopt;
    };
  }
  std::unique_ptr<SigningKey> key_;
};

TEST_F(EnvelopeTest, SignSerializeParseVerify) {
  const std::string payload = R"({"_type":"https://in-toto.io/Statement/v1"})";
  const DsseEnvelope envelope = SignEnvelope(kType, payload, *key_);
  const std::string json = EnvelopeToJson(envelope);
  EXPECT_EQ(json.rfind("{\"payload\":\"", 0), 0u) << json;
  auto parsed = EnvelopeFromJson(json);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  auto verified = VerifyEnvelope(*parsed, Trusting(*key_));
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->payload, payload);
  EXPECT_EQ(verified->payload_type, kType);
  EXPECT_EQ(verified->keyid, KeyId(key_->public_key()));
}

TEST_F(EnvelopeTest, AnyChangeToPayloadTypeSignatureOrKeyIdIsRefused) {
  const DsseEnvelope good = SignEnvelope(kType, "certificate facts", *key_);
  for (size_t i = 0; i < good.payload.size(); ++i) {
    DsseEnvelope bad = good;
    bad.payload[i] ^= 1;
    EXPECT_EQ(VerifyEnvelope(bad, Trusting(*key_)).status().code(),
              absl::StatusCode::kUnauthenticated);
  }
  for (size_t i = 0; i < good.signatures[0].sig.size(); ++i) {
    DsseEnvelope bad = good;
    bad.signatures[0].sig[i] ^= 1;
    EXPECT_FALSE(VerifyEnvelope(bad, Trusting(*key_)).ok());
  }
  DsseEnvelope bad_type = good;
  bad_type.payload_type.back() ^= 1;
  EXPECT_FALSE(VerifyEnvelope(bad_type, Trusting(*key_)).ok());
  DsseEnvelope bad_keyid = good;
  bad_keyid.signatures[0].keyid[0] ^= 1;
  auto s = VerifyEnvelope(bad_keyid, Trusting(*key_));
  EXPECT_NE(s.status().message().find("not trusted"), std::string::npos)
      << s.status();
  // A key the verifier does not trust is refused even if the bytes verify.
  auto stranger = SigningKey::Generate();
  auto refused =
      VerifyEnvelope(SignEnvelope(kType, "x", *stranger), Trusting(*key_));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnauthenticated);
  DsseEnvelope unsigned_envelope = good;
  unsigned_envelope.signatures.clear();
  EXPECT_FALSE(VerifyEnvelope(unsigned_envelope, Trusting(*key_)).ok());
}

TEST_F(EnvelopeTest, MalformedAndTruncatedJsonGiveClearErrors) {
  const std::string json = EnvelopeToJson(SignEnvelope(kType, "facts", *key_));
  for (size_t n = 0; n < json.size(); ++n) {
    auto parsed = EnvelopeFromJson(json.substr(0, n));
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << n;
  }
  for (
      const auto& [text, field] :
      std::vector<std::pair<std::string, std::string>>{
          {"[]", "envelope"},
          {R"({"payload":"eA==","signatures":[]})", "envelope.payloadType"},
          {R"({"payloadType":"t","signatures":[]})", "envelope.payload"},
          {R"({"payload":"%%","payloadType":"t","signatures":[]})",
           "envelope.payload"},
          {R"({"payload":"eA==","payloadType":"t"})", "envelope.signatures"},
          {R"({"payload":"eA==","payloadType":"t","signatures":[{"keyid":"k"}]})",
           "envelope.signatures[0].sig"}}) {
    auto parsed = EnvelopeFromJson(text);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(std::string(parsed.status().message()).rfind(field, 0), 0u)
        << text << " -> " << parsed.status();
  }
}

// Interoperability: an independent verifier written from the DSSE
// specification (Python, Debian's python3-nacl) accepts Loupe's envelopes
// and refuses a tampered one.
TEST_F(EnvelopeTest, IndependentVerifierAcceptsLoupeEnvelopes) {
  const std::string dir = ::testing::TempDir();
  const std::string good_path = dir + "/loupe_dsse_good.json";
  const std::string bad_path = dir + "/loupe_dsse_bad.json";
  DsseEnvelope envelope =
      SignEnvelope(kType, R"({"subject":[{"name":"ring.stl"}]})", *key_);
  std::ofstream(good_path) << EnvelopeToJson(envelope);
  envelope.payload[3] ^= 1;
  std::ofstream(bad_path) << EnvelopeToJson(envelope);
  const std::string pub =
      ToHex(key_->public_key().data(), key_->public_key().size());
  const std::string verifier = LOUPE_SOURCE_DIR "/tests/interop/verify_dsse.py";
  auto run = [&](const std::string& path) {
    const std::string command =
        "/usr/bin/python3 " + verifier + " " + path + " " + pub + " >/dev/null";
    return std::system(command.c_str());
  };
  EXPECT_EQ(run(good_path), 0);
  EXPECT_NE(run(bad_path), 0);
  std::remove(good_path.c_str());
  std::remove(bad_path.c_str());
}

}  // namespace
}  // namespace loupe::crypto
