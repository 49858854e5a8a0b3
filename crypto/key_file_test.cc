#include "crypto/key_file.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "crypto/dsse.h"
#include "crypto/sha256.h"

namespace loupe::crypto {
namespace {

class KeyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto key = SigningKey::Generate();
    ASSERT_TRUE(key.ok());
    key_ = std::make_unique<SigningKey>(*std::move(key));
    auto sealed = SealSigningKey(*key_, "correct horse", kKdfInteractive);
    ASSERT_TRUE(sealed.ok()) << sealed.status();
    file_ = *sealed;
  }
  std::unique_ptr<SigningKey> key_;
  std::string file_;
};

TEST_F(KeyFileTest, RoundTripsAndNeverHoldsTheSecretInClear) {
  auto opened = OpenSigningKey(file_, "correct horse");
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->public_key(), key_->public_key());
  uint8_t seed[kSeedSize];
  key_->ExportSeed(seed);
  const std::string raw(reinterpret_cast<char*>(seed), kSeedSize);
  EXPECT_EQ(file_.find(ToHex(seed, kSeedSize)), std::string::npos);
  EXPECT_EQ(file_.find(Base64Encode(raw)), std::string::npos);
  EXPECT_EQ(file_.find(raw), std::string::npos);
  const auto json = nlohmann::json::parse(file_);
  EXPECT_EQ(json["keyid"], KeyId(key_->public_key()));
  EXPECT_EQ(json["kdf"]["alg"], "argon2id13");
}

TEST_F(KeyFileTest, WrongPassphraseOrAlteredFileIsRefused) {
  EXPECT_EQ(OpenSigningKey(file_, "correct horsf").status().code(),
            absl::StatusCode::kPermissionDenied);
  auto json = nlohmann::json::parse(file_);
  auto other = SigningKey::Generate();
  auto swapped = json;
  swapped["public_key"] =
      ToHex(other->public_key().data(), other->public_key().size());
  EXPECT_EQ(OpenSigningKey(swapped.dump(), "correct horse").status().code(),
            absl::StatusCode::kPermissionDenied);
  auto flipped = json;
  std::string ct = *Base64Decode(json["ciphertext"].get<std::string>());
  ct[5] ^= 1;
  flipped["ciphertext"] = Base64Encode(ct);
  EXPECT_EQ(OpenSigningKey(flipped.dump(), "correct horse").status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(KeyFileTest, MalformedFilesNameTheField) {
  for (size_t n = 0; n < file_.size(); n += 7) {
    EXPECT_FALSE(OpenSigningKey(file_.substr(0, n), "correct horse").ok());
  }
  auto json = nlohmann::json::parse(file_);
  auto expensive = json;
  expensive["kdf"]["memlimit"] = uint64_t{1} << 40;  // A hostile file.
  auto s = OpenSigningKey(expensive.dump(), "correct horse").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("kdf"), std::string::npos) << s;
  auto no_nonce = json;
  no_nonce.erase("nonce");
  s = OpenSigningKey(no_nonce.dump(), "correct horse").status();
  EXPECT_EQ(std::string(s.message()).rfind("nonce", 0), 0u) << s;
  auto wrong_format = json;
  wrong_format["format"] = "something-else";
  EXPECT_EQ(OpenSigningKey(wrong_format.dump(), "x").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(SealSigningKey(*key_, "", kKdfInteractive).ok());
}

TEST(PassphraseTest, FromFileThenEnvironmentElseClearError) {
  const std::string path = ::testing::TempDir() + "/loupe_passphrase.txt";
  std::ofstream(path) << "from file\n";
  PassphraseSource source;
  source.file = path;
  source.env_var = "LOUPE_TEST_PASSPHRASE";
  source.allow_prompt = false;
  ::setenv("LOUPE_TEST_PASSPHRASE", "from env", 1);
  auto p = ReadPassphrase(source);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->view(), "from file");
  source.file.clear();
  p = ReadPassphrase(source);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->view(), "from env");
  ::unsetenv("LOUPE_TEST_PASSPHRASE");
  p = ReadPassphrase(source);
  EXPECT_EQ(p.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(p.status().message().find("LOUPE_TEST_PASSPHRASE"),
            std::string::npos);
  source.file = "/nonexistent/passphrase";
  EXPECT_EQ(ReadPassphrase(source).status().code(),
            absl::StatusCode::kNotFound);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace loupe::crypto
