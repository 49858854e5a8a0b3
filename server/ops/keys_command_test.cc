#include "server/ops/keys_command.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/time/clock.h"
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

// Issue 15: key files were written with the umask's mode and chmod-ed
// afterwards. With umask 0 the old code left root.json world-writable; keys
// are created 0600 and roots 0644 from the start.
TEST(KeysCommandTest, KeyFilesAreCreatedPrivateWhateverTheUmask) {
  const fs::path dir =
      fs::temp_directory_path() / ("loupe_keymode_" + crypto::RandomId(""));
  fs::create_directories(dir);
  std::ofstream(dir / "pass") << "pass\n";
  crypto::PassphraseSource source;
  source.file = (dir / "pass").string();
  source.allow_prompt = false;
  std::ostringstream out;
  const mode_t old_umask = ::umask(0);
  const absl::Status init = InitKeys(
      {dir.string(), "r.example/loupe", source, crypto::kKdfInteractive}, out);
  ::umask(old_umask);
  ASSERT_TRUE(init.ok()) << init;
  auto mode = [&](const char* name) {
    return fs::status(dir / name).permissions() & fs::perms::mask;
  };
  EXPECT_EQ(mode("root-key.json"),
            fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(mode("signing-key.json"),
            fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(mode("root.json"), fs::perms::owner_read | fs::perms::owner_write |
                                   fs::perms::group_read |
                                   fs::perms::others_read);
  fs::remove_all(dir);
}

TEST(KeysCommandTest, RotationRetiresTheKeyAndChainsANewRoot) {
  const fs::path dir =
      fs::temp_directory_path() / ("loupe_rotate_" + crypto::RandomId(""));
  fs::create_directories(dir);
  std::ofstream(dir / "pass") << "pass\n";
  crypto::PassphraseSource source;
  source.file = (dir / "pass").string();
  source.allow_prompt = false;
  std::ostringstream out;
  ASSERT_TRUE(InitKeys({dir.string(), "r.example/loupe", source,
                        crypto::kKdfInteractive},
                       out)
                  .ok());
  auto old_key = crypto::OpenSigningKey(Read(dir / "signing-key.json"), "pass");
  // Validity is in whole seconds: let the new key's second pass.
  absl::SleepFor(absl::Milliseconds(1100));
  EXPECT_EQ(
      RotateSigningKey({dir.string(), {}, crypto::kKdfInteractive}, out).code(),
      absl::StatusCode::kFailedPrecondition);  // No passphrase source.
  ASSERT_TRUE(
      RotateSigningKey({dir.string(), source, crypto::kKdfInteractive}, out)
          .ok())
      << out.str();
  auto new_key = crypto::OpenSigningKey(Read(dir / "signing-key.json"), "pass");
  ASSERT_TRUE(new_key.ok());
  ASSERT_TRUE(fs::exists(dir / "signing-key-retired-v1.json"));
  // A holder of v1 follows to v2.
  auto v1 = crypto::VerifyInitialRoot(
      *crypto::EnvelopeFromJson(Read(dir / "root.json")));
  auto v2 = crypto::FollowRoots(
      *v1, {*crypto::EnvelopeFromJson(Read(dir / "root-v2.json"))});
  ASSERT_TRUE(v2.ok()) << v2.status();
  EXPECT_EQ(v2->version, 2u);
  const std::string old_id = crypto::KeyId(old_key->public_key());
  const std::string new_id = crypto::KeyId(new_key->public_key());
  const absl::Time after = absl::Now() + absl::Seconds(5);
  const absl::Time issued_before = v1->FindKey(old_id)->valid_from;
  EXPECT_TRUE(
      v2->KeyValidAt(old_id, crypto::kRoleCertificate, issued_before).ok());
  EXPECT_FALSE(v2->KeyValidAt(old_id, crypto::kRoleCertificate, after).ok());
  EXPECT_TRUE(v2->KeyValidAt(new_id, crypto::kRoleCertificate, after).ok());
  // And again: v3.
  absl::SleepFor(absl::Milliseconds(1100));
  ASSERT_TRUE(
      RotateSigningKey({dir.string(), source, crypto::kKdfInteractive}, out)
          .ok());
  EXPECT_TRUE(fs::exists(dir / "root-v3.json"));
  fs::remove_all(dir);
}

// Issue 15: the root names the witnesses; changing them is a new root.
TEST(KeysCommandTest, WitnessesGoInTheRootAndChangeByRotation) {
  const fs::path dir =
      fs::temp_directory_path() / ("loupe_keys_" + crypto::RandomId(""));
  fs::create_directories(dir);
  std::ofstream(dir / "pass") << "a long dev passphrase\n";
  const std::string a(64, 'a'), b(64, 'b');
  KeysInitOptions options{(dir / "keys").string(),
                          "registry.example/loupe",
                          {},
                          crypto::kKdfInteractive};
  options.passphrase.file = (dir / "pass").string();
  options.passphrase.allow_prompt = false;
  options.witnesses = {"witness.example/a=" + a};
  options.witness_threshold = 2;
  std::ostringstream out;
  EXPECT_EQ(InitKeys(options, out).code(), absl::StatusCode::kInvalidArgument);
  options.witnesses.push_back("witness example=" + b);
  EXPECT_EQ(InitKeys(options, out).code(), absl::StatusCode::kInvalidArgument);
  options.witnesses.back() = "witness.example/b=" + b;
  ASSERT_TRUE(InitKeys(options, out).ok());
  auto root = crypto::VerifyInitialRoot(
      *crypto::EnvelopeFromJson(Read(dir / "keys/root.json")));
  ASSERT_TRUE(root.ok()) << root.status();
  ASSERT_EQ(root->witnesses.size(), 2u);
  EXPECT_EQ(root->witnesses[1].name, "witness.example/b");
  EXPECT_EQ(root->witness_threshold, 2u);

  KeysWitnessesOptions change{(dir / "keys").string(), {}, {}, 1};
  change.passphrase = options.passphrase;
  change.witnesses = {"witness.example/b=" + b};
  ASSERT_TRUE(SetRootWitnesses(change, out).ok()) << out.str();
  auto v2 = crypto::VerifyNextRoot(
      *root, *crypto::EnvelopeFromJson(Read(dir / "keys/root-v2.json")));
  ASSERT_TRUE(v2.ok()) << v2.status();
  ASSERT_EQ(v2->witnesses.size(), 1u);
  EXPECT_EQ(v2->witnesses[0].name, "witness.example/b");
  EXPECT_EQ(v2->witness_threshold, 1u);
  EXPECT_EQ(v2->keys.size(), root->keys.size());
  change.witness_threshold = 2;
  EXPECT_EQ(SetRootWitnesses(change, out).code(),
            absl::StatusCode::kInvalidArgument);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace loupe::server
