#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "client/registry_client.h"
#include "crypto/cosignature.h"

namespace loupe::testing {

// Bearer tokens of the principals every TestServer is configured with.
inline constexpr char kAurumToken[] = "test-token-studio-aurum";
inline constexpr char kBelliniToken[] = "test-token-studio-bellini";
inline constexpr char kBenchToken[] = "test-token-jeweler-bench";
// "insurer" is named by studio aurum (for all of its pieces); "insurer-b"
// by no studio: only pieces that name it.
inline constexpr char kInsurerToken[] = "test-token-insurer";
inline constexpr char kOtherInsurerToken[] = "test-token-insurer-b";
inline constexpr char kAdminToken[] = "test-token-admin";

// A real loupe-server process on 127.0.0.1, port 0, with its own temporary
// data directory and a config granting "bench" access to aurum's files and
// naming "insurer" as aurum's insurer.
// Used by the integration tests and the benchmarks. Not thread-safe.
class TestServer {
 public:
  TestServer();
  ~TestServer();  // Kills the process and deletes the data directory.

  // Before Start(): creates a root key, a signing key (encrypted, with a
  // passphrase file) and trust root v1, and configures certificate signing.
  // `passphrase` is what the passphrase file holds (a test may break it).
  // Returns the path of root.json.
  // `witnesses` and `witness_threshold` go in the trust root.
  std::string EnableSigning(const std::string& passphrase = "test passphrase",
                            const std::vector<crypto::Cosigner>& witnesses = {},
                            uint32_t witness_threshold = 0);

  // Before Start(): appends `text` to the config file.
  void AppendConfig(const std::string& text);

  // After EnableSigning(), while stopped: `loupe-server keys rotate` on the
  // key directory (the signing key retires now, kept as
  // signing-key-retired-v1.json) and root-v2.json added to the config.
  // Returns the path of root-v2.json.
  [[nodiscard]] absl::StatusOr<std::string> RotateSigningKey();

  // Before Start(): TLS on gRPC and HTTP with the files tools/dev_tls.sh
  // made in `dir`, its ca.pem also the client CA (principals are named by
  // their ids in client certificates); `require_client_certificate` makes
  // mutual TLS mandatory. Clients then need LOUPE_CA (and LOUPE_CERT,
  // LOUPE_KEY) in the environment.
  void EnableTls(const std::string& dir, bool require_client_certificate);

  // Before Start(): replaces the limits (by default: 256 MiB assets and no
  // practical rate limit), e.g. "requests_per_second: 5".
  void SetLimits(const std::string& limits);

  // Before Start(): the server runs with RLIMIT_NOFILE of `n` (soft and
  // hard), as under `ulimit -n n`.
  void SetDescriptorLimit(int n) { descriptor_limit_ = n; }

  // Starts the server and waits until it listens; an error (with the
  // server's log) if it exits or does not listen within 30 s.
  [[nodiscard]] absl::Status Start();
  // SIGTERM, then waits; returns the exit status.
  int Stop();
  // SIGKILL, then waits: a crash.
  void Kill();
  bool running() const { return pid_ > 0; }

  std::string target() const;
  // The HTTP gateway's port (listening on 127.0.0.1, read timeout 2 s).
  int http_port() const { return http_port_; }
  std::string data_dir() const { return dir_ + "/db"; }
  // After EnableSigning(): the encrypted signing key, passphrase
  // "test passphrase" (crypto::kKdfInteractive).
  std::string signing_key_file() const { return dir_ + "/signing-key.json"; }
  std::string keys_dir() const { return dir_; }
  std::string log() const;
  pid_t pid() const { return pid_; }
  std::unique_ptr<client::RegistryClient> Client(const std::string& token);

 private:
  std::string dir_;
  pid_t pid_ = -1;
  int port_ = 0;
  int http_port_ = 0;
  int descriptor_limit_ = 0;  // 0: inherited.
};

}  // namespace loupe::testing
