#include "crypto/ed25519.h"

#include <gtest/gtest.h>

#include "absl/strings/escaping.h"
#include "crypto/sha256.h"

namespace loupe::crypto {
namespace {

std::string Unhex(const std::string& hex) {
  return absl::HexStringToBytes(hex);
}

std::string Hex(const uint8_t* data, size_t size) { return ToHex(data, size); }

struct Rfc8032Vector {
  const char* seed;
  const char* public_key;
  const char* message;
  const char* signature;
};

// RFC 8032 section 7.1, TEST 1-3.
constexpr Rfc8032Vector kVectors[] = {
    {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
     "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
    {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
     "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
    {"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
     "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
};

TEST(Ed25519Test, Rfc8032KnownAnswers) {
  for (const auto& v : kVectors) {
    auto key = SigningKey::FromSeed(Unhex(v.seed));
    ASSERT_TRUE(key.ok());
    EXPECT_EQ(Hex(key->public_key().data(), kPublicKeySize), v.public_key);
    const std::string message = Unhex(v.message);
    const Signature sig = key->Sign(message);
    EXPECT_EQ(Hex(sig.data(), sig.size()), v.signature);
    EXPECT_TRUE(
        VerifySignature(key->public_key(), message, Unhex(v.signature)));
    uint8_t seed[kSeedSize];
    key->ExportSeed(seed);
    EXPECT_EQ(Hex(seed, kSeedSize), v.seed);
  }
}

TEST(Ed25519Test, AnyChangedByteFailsVerification) {
  auto key = SigningKey::Generate();
  ASSERT_TRUE(key.ok());
  const std::string message = "18k rose gold, 750, ring size US 7";
  const Signature sig = key->Sign(message);
  std::string sig_bytes(reinterpret_cast<const char*>(sig.data()), sig.size());
  ASSERT_TRUE(VerifySignature(key->public_key(), message, sig_bytes));
  for (size_t i = 0; i < sig_bytes.size(); ++i) {
    std::string bad = sig_bytes;
    bad[i] ^= 0x01;
    EXPECT_FALSE(VerifySignature(key->public_key(), message, bad)) << i;
  }
  for (size_t i = 0; i < message.size(); ++i) {
    std::string bad = message;
    bad[i] ^= 0x20;
    EXPECT_FALSE(VerifySignature(key->public_key(), bad, sig_bytes)) << i;
  }
  EXPECT_FALSE(
      VerifySignature(key->public_key(), message, sig_bytes.substr(1)));
  auto other = SigningKey::Generate();
  EXPECT_FALSE(VerifySignature(other->public_key(), message, sig_bytes));
}

TEST(Ed25519Test, KeysMoveAndHaveStableIds) {
  auto key = SigningKey::FromSeed(Unhex(kVectors[0].seed));
  ASSERT_TRUE(key.ok());
  const std::string id = KeyId(key->public_key());
  EXPECT_EQ(id, Sha256::HexOf(Unhex(kVectors[0].public_key)));
  // The example in docs/certificate-format.md.
  EXPECT_EQ(id,
            "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9");
  SigningKey moved = *std::move(key);
  EXPECT_EQ(KeyId(moved.public_key()), id);
  EXPECT_TRUE(VerifySignature(moved.public_key(), "x", [&] {
    const Signature s = moved.Sign("x");
    return std::string(reinterpret_cast<const char*>(s.data()), s.size());
  }()));
  EXPECT_FALSE(SigningKey::FromSeed("short").ok());
  auto parsed = ParsePublicKeyHex(kVectors[1].public_key);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(Hex(parsed->data(), parsed->size()), kVectors[1].public_key);
  EXPECT_FALSE(ParsePublicKeyHex("zz").ok());
}

}  // namespace
}  // namespace loupe::crypto
