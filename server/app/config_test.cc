#include "server/app/config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "server/policy/access_policy.h"

namespace loupe::server {
namespace {

TEST(ConfigTest, ParsesAndFillsDefaults) {
  auto config = ParseConfig("data_dir: '/tmp/x'\nallow_plaintext: true\n");
  ASSERT_TRUE(config.ok());
  ASSERT_TRUE(FinishConfig(&*config).ok());
  EXPECT_EQ(config->listen_address(), kDefaultListenAddress);
  EXPECT_EQ(config->limits().max_asset_bytes(), kDefaultMaxAssetBytes);
  EXPECT_EQ(config->worker_threads(), kDefaultWorkerThreads);
}

// TLS is the default: plain text only when the config says so.
TEST(ConfigTest, TlsIsRequiredUnlessPlainTextIsAskedFor) {
  auto bare = ParseConfig("data_dir: '/tmp/x'\n");
  auto s = FinishConfig(&*bare);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("tls: cert_file and key_file are required"),
            std::string::npos)
      << s;
  auto half = ParseConfig(
      "data_dir: '/tmp/x' allow_plaintext: true tls { cert_file: 'c.pem' }");
  EXPECT_NE(FinishConfig(&*half).message().find("go together"),
            std::string::npos);
  auto mtls = ParseConfig(
      "data_dir: '/tmp/x' tls { cert_file: 'c' key_file: 'k' "
      "require_client_certificate: true }");
  EXPECT_NE(FinishConfig(&*mtls).message().find("client_ca_file"),
            std::string::npos);
  auto tls =
      ParseConfig("data_dir: '/tmp/x' tls { cert_file: 'c' key_file: 'k' }");
  EXPECT_TRUE(FinishConfig(&*tls).ok());
}

TEST(ConfigTest, StaticTilesNeedOneDestinationAndGetDefaults) {
  const std::string base = "data_dir: '/tmp/x' allow_plaintext: true ";
  auto none = ParseConfig(base + "log { static_tiles {} }");
  EXPECT_NE(FinishConfig(&*none).message().find("log.static_tiles"),
            std::string_view::npos);
  auto both =
      ParseConfig(base + "log { static_tiles { directory: '/d' s3 {} } }");
  EXPECT_FALSE(FinishConfig(&*both).ok());
  auto dir = ParseConfig(base + "log { static_tiles { directory: '/d' } }");
  ASSERT_TRUE(FinishConfig(&*dir).ok());
  EXPECT_EQ(dir->log().static_tiles().max_objects_per_round(), 256u);
  EXPECT_EQ(dir->log().static_tiles().checkpoint_max_age_seconds(), 5u);
  EXPECT_EQ(dir->log().static_tiles().partial_max_age_seconds(), 60u);
}

TEST(ConfigTest, SyntaxErrorsGiveLineAndColumn) {
  auto config = ParseConfig("data_dir: '/tmp/x'\nlisten_adress: 'x'\n");
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(config.status().message().find("line 2"), std::string::npos)
      << config.status();
  EXPECT_NE(config.status().message().find("listen_adress"), std::string::npos);
}

TEST(ConfigTest, MissingDataDirAndBadLimitsAreNamed) {
  v1::ServerConfig empty;
  auto s = FinishConfig(&empty);
  EXPECT_NE(s.message().find("data_dir"), std::string::npos);
  auto small = ParseConfig(
      "data_dir: 'x' allow_plaintext: true limits { max_message_bytes: 1000 }");
  EXPECT_NE(FinishConfig(&*small).message().find("limits.max_message_bytes"),
            std::string::npos);
  auto per_address = ParseConfig(
      "data_dir: 'x' allow_plaintext: true limits { max_connections: 10 "
      "max_connections_per_address: 11 }");
  EXPECT_NE(FinishConfig(&*per_address)
                .message()
                .find("limits.max_connections_per_address: more than"),
            std::string::npos);
}

// Connection limits default to 0 (derived from RLIMIT_NOFILE at start,
// connection_gate.h); the handshake timeout to 10 s.
TEST(ConfigTest, ConnectionLimitsAreDerivedAtStart) {
  auto config = ParseConfig("data_dir: '/tmp/x'\nallow_plaintext: true\n");
  ASSERT_TRUE(FinishConfig(&*config).ok());
  EXPECT_EQ(config->limits().max_connections(), 0u);
  EXPECT_EQ(config->limits().max_connections_per_address(), 0u);
  EXPECT_EQ(config->limits().handshake_timeout_ms(), 10000u);
}

TEST(ConfigTest, LoadsFilesAndReportsMissingOnes) {
  EXPECT_EQ(LoadConfigFile("/nonexistent/loupe.conf").status().code(),
            absl::StatusCode::kNotFound);
  const std::string path = testing::TempDir() + "/loupe_config_test.conf";
  std::ofstream(path) << "data_dir: '/var/lib/loupe'\nworker_threads: 4\n";
  auto config = LoadConfigFile(path);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->worker_threads(), 4u);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace loupe::server

namespace loupe::server {
namespace {

// deploy/loupe.conf.example documents every option: it must stay loadable.
TEST(ConfigTest, DocumentedExampleLoads) {
  auto config = LoadConfigFile(LOUPE_SOURCE_DIR "/deploy/loupe.conf.example");
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_TRUE(FinishConfig(&*config).ok());
  EXPECT_EQ(config->principals_size(), 4);
  EXPECT_EQ(config->limits().max_asset_bytes(), kDefaultMaxAssetBytes);
  EXPECT_EQ(config->worker_threads(), kDefaultWorkerThreads);
  EXPECT_TRUE(AccessPolicy::FromConfig(*config).ok());
}

}  // namespace
}  // namespace loupe::server

namespace loupe::server {
namespace {

// Issue 15: the registry's witnesses are checked before it starts.
TEST(ConfigTest, WitnessingIsCheckedAndDefaulted) {
  const std::string key(64, 'a');
  const std::string base = "data_dir: '/d' allow_plaintext: true ";
  auto config = ParseConfig(
      base + "witnessing { witnesses { name: 'w.example/1' public_key: '" +
      key + "' url: 'http://127.0.0.1:7600' } }");
  ASSERT_TRUE(config.ok());
  ASSERT_TRUE(FinishConfig(&*config).ok());
  EXPECT_EQ(config->witnessing().quorum(), 1u);
  EXPECT_EQ(config->witnessing().timeout_ms(), 5000u);
  for (const auto& [witnessing, field] :
       std::vector<std::pair<std::string, std::string>>{
           {"witnesses { name: 'bad name' public_key: '" + key +
                "' url: 'http://x' }",
            "witnessing.witnesses[0].name"},
           {"witnesses { name: 'w' public_key: 'abc' url: 'http://x' }",
            "witnessing.witnesses[0].public_key"},
           {"witnesses { name: 'w' public_key: '" + key + "' url: 'ftp://x' }",
            "witnessing.witnesses[0].url"},
           {"witnesses { name: 'w' public_key: '" + key +
                "' url: 'http://x' } witnesses { name: 'w' public_key: '" +
                key + "' url: 'http://y' }",
            "witnessing.witnesses[1].name"},
           {"witnesses { name: 'w' public_key: '" + key +
                "' url: 'http://x' } quorum: 2",
            "witnessing.quorum"}}) {
    auto bad = ParseConfig(base + "witnessing { " + witnessing + " }");
    ASSERT_TRUE(bad.ok()) << witnessing;
    auto s = FinishConfig(&*bad);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << witnessing;
    EXPECT_EQ(std::string(s.message()).rfind(field, 0), 0u) << s;
  }
}

}  // namespace
}  // namespace loupe::server
