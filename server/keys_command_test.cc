#include "server/keys_command.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "crypto/random.h"
#include "crypto/trust_root.h"

namespace loupe::server {
namespace {

namespace fs = std::filesystem;

std::string Read(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(KeysCommandTest, CreatesEncryptedKeysAndASelfSignedRoot) {
  const fs::path dir =
      fs::temp_directory_path() / ("loupe_keys_" + crypto::RandomId(""));
  fs::create_directories(dir);
  std::ofstream(dir / "pass") << "a long dev passphrase\n";
  KeysInitOptions options{(dir / "keys").string(),
                          "registry.example/loupe",
                          {},
                          crypto::kKdfInteractive};
  options.passphrase.file = (dir / "pass").string();
  options.passphrase.allow_prompt = false;
  std::ostringstream out;
  ASSERT_TRUE(InitKeys(options, out).ok());
  EXPECT_NE(out.str().find("trust root v1"), std::string::npos);

  auto envelope = crypto::EnvelopeFromJson(Read(dir / "keys/root.json"));
  ASSERT_TRUE(envelope.ok());
  auto root = crypto::VerifyInitialRoot(*envelope);
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(root->origin, "registry.example/loupe");
  auto signing = crypto::OpenSigningKey(Read(dir / "keys/signing-key.json"),
                                        "a long dev passphrase");
  ASSERT_TRUE(signing.ok()) << signing.status();
  EXPECT_TRUE(root->KeyValidAt(crypto::KeyId(signing->public_key()),
                               crypto::kRoleCertificate, absl::Now())
                  .ok());
  EXPECT_FALSE(
      crypto::OpenSigningKey(Read(dir / "keys/root-key.json"), "wrong").ok());
  EXPECT_EQ(fs::status(dir / "keys/root-key.json").permissions() &
                fs::perms::others_read,
            fs::perms::none);
  // Never overwrites keys.
  const std::string before = Read(dir / "keys/root.json");
  EXPECT_EQ(InitKeys(options, out).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(Read(dir / "keys/root.json"), before);
  options.dir = (dir / "other").string();
  options.origin = "has space";
  EXPECT_EQ(InitKeys(options, out).code(), absl::StatusCode::kInvalidArgument);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace loupe::server
