#include "tests/test_server.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "crypto/key_file.h"
#include "crypto/random.h"
#include "crypto/sha256.h"
#include "crypto/trust_root.h"

namespace loupe::testing {
namespace {

namespace fs = std::filesystem;

std::string Principal(const char* id, const char* role, const char* studio,
                      const char* token, const char* readers = "",
                      const char* insurers = "") {
  std::ostringstream out;
  out << "principals { id: '" << id << "' role: " << role;
  if (*studio) out << " studio_id: '" << studio << "'";
  out << " token_sha256: '" << crypto::Sha256::HexOf(token) << "'";
  out << " client_certificate_names: '" << id << "'";
  if (*readers) out << " asset_readers: '" << readers << "'";
  if (*insurers) out << " insurers: '" << insurers << "'";
  out << " }\n";
  return out.str();
}

}  // namespace

TestServer::TestServer() {
  // The servers here speak plain text unless a test enables TLS (and sets
  // LOUPE_CA, which wins); clients, and `loupe` run by tests, inherit this.
  setenv("LOUPE_PLAINTEXT", "1", /*overwrite=*/0);
  dir_ = (fs::temp_directory_path() / ("loupe_it_" + crypto::RandomId("")))
             .string();
  fs::create_directories(dir_);
  std::ofstream config(dir_ + "/loupe.conf");
  config << "data_dir: '" << data_dir() << "'\n"
         << "listen_address: '127.0.0.1:0'\n"
         << "http { listen_address: '127.0.0.1:0' read_timeout_ms: 2000 }\n"
         << "allow_plaintext: true\n"
         << "limits { max_asset_bytes: 268435456 "
         << "requests_per_second: 1000000 "
         << "anonymous_requests_per_second: 1000000 }\n"
         << Principal("studio-aurum", "ROLE_STUDIO", "aurum", kAurumToken,
                      "bench", "insurer")
         << Principal("studio-bellini", "ROLE_STUDIO", "bellini", kBelliniToken)
         << Principal("bench", "ROLE_JEWELER", "", kBenchToken)
         << Principal("insurer", "ROLE_INSURER", "", kInsurerToken)
         << Principal("insurer-b", "ROLE_INSURER", "", kOtherInsurerToken)
         << Principal("admin", "ROLE_ADMIN", "", kAdminToken);
}

TestServer::~TestServer() {
  if (running()) Kill();
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

void TestServer::EnableTls(const std::string& dir,
                           bool require_client_certificate) {
  std::ofstream(dir_ + "/loupe.conf", std::ios::app)
      << "tls { cert_file: '" << dir << "/server.pem' key_file: '" << dir
      << "/server.key' client_ca_file: '" << dir
      << "/ca.pem' require_client_certificate: "
      << (require_client_certificate ? "true" : "false") << " }\n";
}

absl::StatusOr<std::string> TestServer::RotateSigningKey() {
  if (running()) return absl::FailedPreconditionError("stop the server first");
  const std::string command = std::string(LOUPE_SERVER_BIN) + " keys rotate " +
                              dir_ + " --passphrase-file " + dir_ +
                              "/passphrase >> " + dir_ + "/server.log 2>&1";
  if (std::system(command.c_str()) != 0) {
    return absl::InternalError("keys rotate failed:\n" + log());
  }
  const std::string path = dir_ + "/loupe.conf";
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::string config = text.str();
  const std::string v1 = "root_files: '" + dir_ + "/root.json'";
  const size_t at = config.find(v1);
  if (at == std::string::npos) return absl::InternalError("no root_files");
  config.insert(at + v1.size(), " root_files: '" + dir_ + "/root-v2.json'");
  std::ofstream(path, std::ios::trunc) << config;
  return dir_ + "/root-v2.json";
}

void TestServer::SetLimits(const std::string& limits) {
  const std::string path = dir_ + "/loupe.conf";
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::string config = text.str();
  const size_t start = config.find("limits {");
  const size_t end = config.find("}\n", start);
  config.replace(start, end + 2 - start, "limits { " + limits + " }\n");
  std::ofstream(path, std::ios::trunc) << config;
}

void TestServer::AppendConfig(const std::string& text) {
  std::ofstream(dir_ + "/loupe.conf", std::ios::app) << text << "\n";
}

std::string TestServer::EnableSigning(
    const std::string& passphrase,
    const std::vector<crypto::Cosigner>& witnesses,
    uint32_t witness_threshold) {
  auto root_key = *crypto::SigningKey::Generate();
  auto signing_key = *crypto::SigningKey::Generate();
  const absl::Time since = absl::FromUnixSeconds(1700000000);
  crypto::TrustRoot root{
      "registry.test/loupe",
      1,
      1,
      {{root_key.public_key(), {crypto::kRoleRoot}, since, std::nullopt},
       {signing_key.public_key(),
        {crypto::kRoleCertificate, crypto::kRoleCheckpoint},
        since,
        std::nullopt}}};
  root.witnesses = witnesses;
  root.witness_threshold = witness_threshold;
  std::ofstream(dir_ + "/root.json")
      << crypto::EnvelopeToJson(*crypto::SignRoot(root, {&root_key}));
  std::ofstream(dir_ + "/signing-key.json") << *crypto::SealSigningKey(
      signing_key, "test passphrase", crypto::kKdfInteractive);
  std::ofstream(dir_ + "/root-key.json") << *crypto::SealSigningKey(
      root_key, "test passphrase", crypto::kKdfInteractive);
  std::ofstream(dir_ + "/passphrase") << passphrase << "\n";
  std::ofstream(dir_ + "/loupe.conf", std::ios::app)
      << "signing { key_file: '" << dir_ << "/signing-key.json' "
      << "passphrase_file: '" << dir_ << "/passphrase' "
      << "root_files: '" << dir_ << "/root.json' }\n";
  return dir_ + "/root.json";
}

absl::Status TestServer::Start() {
  if (running()) return absl::FailedPreconditionError("already running");
  const std::string port_file = dir_ + "/port";
  fs::remove(port_file);
  const std::string log_file = dir_ + "/server.log";
  pid_ = fork();
  if (pid_ < 0) return absl::InternalError("fork failed");
  if (pid_ == 0) {
    FILE* log = std::fopen(log_file.c_str(), "a");
    dup2(fileno(log), STDOUT_FILENO);
    dup2(fileno(log), STDERR_FILENO);
    if (descriptor_limit_ > 0) {
      const rlimit limit{static_cast<rlim_t>(descriptor_limit_),
                         static_cast<rlim_t>(descriptor_limit_)};
      setrlimit(RLIMIT_NOFILE, &limit);
    }
    const std::string config = dir_ + "/loupe.conf";
    execl(LOUPE_SERVER_BIN, LOUPE_SERVER_BIN, "--config", config.c_str(),
          "--port-file", port_file.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!fs::exists(port_file)) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::InternalError("loupe-server exited during start:\n" + log());
    }
    if (std::chrono::steady_clock::now() > deadline) {
      Kill();
      return absl::DeadlineExceededError(
          "loupe-server did not listen within 30 s:\n" + log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::ifstream(port_file) >> port_ >> http_port_;
  if (port_ <= 0) return absl::InternalError("unreadable port file");
  return absl::OkStatus();
}

int TestServer::Stop() {
  if (!running()) return -1;
  kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void TestServer::Kill() {
  if (!running()) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

std::string TestServer::target() const {
  return "127.0.0.1:" + std::to_string(port_);
}

std::string TestServer::log() const {
  std::ifstream in(dir_ + "/server.log");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::unique_ptr<client::RegistryClient> TestServer::Client(
    const std::string& token) {
  return std::make_unique<client::RegistryClient>(target(), token);
}

}  // namespace loupe::testing
