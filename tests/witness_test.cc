// Witnesses (issue 15): two real `loupe-server witness` processes and a
// registry that submits its checkpoints to both. Cosignatures are stapled
// to /checkpoint and to bundles, checked by an independent verifier
// (tests/interop/cosignature_check.py); a forked checkpoint signed with the
// log's own key is refused by both witnesses; `loupe verify` enforces the
// trust root's witness policy.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/file.h"
#include "crypto/bundle.h"
#include "crypto/checkpoint.h"
#include "crypto/cosignature.h"
#include "crypto/key_file.h"
#include "crypto/random.h"
#include "crypto/sha256.h"
#include "crypto/witness_policy.h"
#include "tests/http_util.h"
#include "tests/test_server.h"
#include "tests/test_util.h"

namespace loupe::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr char kOrigin[] = "registry.test/loupe";

std::string Hex(const crypto::PublicKey& key) {
  return crypto::ToHex(key.data(), key.size());
}

// Runs a shell command; its exit code and what it printed.
std::pair<int, std::string> RunCommand(const std::string& command) {
  std::string out;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// A `loupe-server witness` process on 127.0.0.1:0 with its own encrypted
// key and state directory.
class WitnessProcess {
 public:
  explicit WitnessProcess(std::string name) : name_(std::move(name)) {
    dir_ = (fs::temp_directory_path() / ("loupe_w_" + crypto::RandomId("")))
               .string();
    fs::create_directories(dir_);
    auto key = crypto::SigningKey::Generate();
    public_key_ = key->public_key();
    std::ofstream(dir_ + "/key.json") << *crypto::SealSigningKey(
        *key, "witness passphrase", crypto::kKdfInteractive);
    std::ofstream(dir_ + "/passphrase") << "witness passphrase\n";
  }
  ~WitnessProcess() {
    Stop();
    fs::remove_all(dir_);
  }

  crypto::Cosigner cosigner() const { return {name_, public_key_}; }
  std::string spec() const { return name_ + "=" + Hex(public_key_); }
  int port() const { return port_; }
  std::string log() const { return *ReadFileToString(dir_ + "/log"); }

  absl::Status Start(const crypto::PublicKey& log_key) {
    const std::string port_file = dir_ + "/port";
    const std::string log_flag = std::string(kOrigin) + "=" + Hex(log_key);
    pid_ = fork();
    if (pid_ == 0) {
      FILE* log = std::fopen((dir_ + "/log").c_str(), "a");
      dup2(fileno(log), STDOUT_FILENO);
      dup2(fileno(log), STDERR_FILENO);
      execl(LOUPE_SERVER_BIN, LOUPE_SERVER_BIN, "witness", "--name",
            name_.c_str(), "--key", (dir_ + "/key.json").c_str(),
            "--passphrase-file", (dir_ + "/passphrase").c_str(), "--state-dir",
            (dir_ + "/state").c_str(), "--listen", "127.0.0.1:0", "--log",
            log_flag.c_str(), "--allow-plaintext", "--port-file",
            port_file.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    const auto deadline = Clock::now() + std::chrono::seconds(30);
    while (!fs::exists(port_file)) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_ || Clock::now() > deadline) {
        pid_ = -1;
        return absl::InternalError("witness did not start:\n" + log());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::ifstream(port_file) >> port_;
    return absl::OkStatus();
  }
  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  std::string name_, dir_;
  crypto::PublicKey public_key_{};
  pid_t pid_ = -1;
  int port_ = 0;
};

class WitnessTest : public ::testing::Test {
 protected:
  // Two witnesses, a registry submitting to both, a trust root naming both
  // with `threshold`. `before_registry` runs once the witnesses listen.
  void StartAll(uint32_t threshold,
                const std::function<void()>& before_registry = {}) {
    root_path_ = server_.EnableSigning(
        "test passphrase", {w1_.cosigner(), w2_.cosigner()}, threshold);
    root_ = *crypto::VerifyInitialRoot(
        *crypto::EnvelopeFromJson(*ReadFileToString(root_path_)));
    log_key_ = std::make_unique<crypto::SigningKey>(*crypto::OpenSigningKey(
        *ReadFileToString(server_.signing_key_file()), "test passphrase"));
    ASSERT_OK(w1_.Start(log_key_->public_key()));
    ASSERT_OK(w2_.Start(log_key_->public_key()));
    if (before_registry) before_registry();
    std::string witnessing = "witnessing { interval_ms: 100 timeout_ms: 3000";
    for (const auto* w : {&w1_, &w2_}) {
      witnessing += " witnesses { name: '" + w->cosigner().name +
                    "' public_key: '" + Hex(w->cosigner().public_key) +
                    "' url: 'http://127.0.0.1:" + std::to_string(w->port()) +
                    "' }";
    }
    server_.AppendConfig(witnessing + " }");
    const absl::Status started = server_.Start();
    ASSERT_TRUE(started.ok()) << started << "\n" << server_.log();
    aurum_ = server_.Client(kAurumToken);
  }

  // A piece with one version and its certificate.
  v1::Certificate IssueCertificate(const std::string& name) {
    const std::string cad = TestBytes(3000, name.size());
    EXPECT_TRUE(aurum_->UploadBytes(HeaderFor(cad), cad).ok());
    auto request = PieceRequest("aurum", name);
    *request.mutable_first_version()->add_assets() = CadAsset(cad);
    auto piece = aurum_->CreatePiece(request);
    EXPECT_TRUE(piece.ok()) << piece.status();
    grpc::ClientContext ctx;
    aurum_->Prepare(&ctx, 30);
    v1::IssueCertificateRequest issue;
    issue.set_piece_id(piece->id());
    v1::Certificate cert;
    EXPECT_TRUE(aurum_->stub().IssueCertificate(&ctx, issue, &cert).ok());
    return cert;
  }
  v1::Certificate GetCertificate(const std::string& id) {
    grpc::ClientContext ctx;
    aurum_->Prepare(&ctx, 30);
    v1::GetCertificateRequest get;
    get.set_certificate_id(id);
    v1::Certificate cert;
    EXPECT_TRUE(aurum_->stub().GetCertificate(&ctx, get, &cert).ok());
    return cert;
  }
  // Waits (up to 20 s) until `fetch` gives a checkpoint note that `done`
  // accepts; returns the last note seen.
  std::string WaitFor(const std::function<std::string()>& fetch,
                      const std::function<bool(const std::string&)>& done) {
    const auto deadline = Clock::now() + std::chrono::seconds(20);
    std::string note = fetch();
    while (!done(note) && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      note = fetch();
    }
    return note;
  }
  bool BothVouch(const std::string& note, uint64_t min_size) {
    auto checkpoint =
        crypto::VerifyCheckpoint(note, kOrigin, log_key_->public_key());
    auto vouched = crypto::CheckWitnessPolicy(note, Root(2));
    return checkpoint.ok() && checkpoint->size >= min_size && vouched.ok() &&
           vouched->size() == 2;
  }
  crypto::TrustRoot Root(uint32_t threshold) {
    crypto::TrustRoot root = root_;
    root.witness_threshold = threshold;
    return root;
  }
  std::string CheckpointNote() {
    return HttpGet(server_.http_port(), "/checkpoint").body;
  }
  std::string Verify(const std::string& bundle_json, int* exit_code) {
    const std::string dir = server_.keys_dir();  // This test's own.
    std::ofstream(dir + "/witnessed.json", std::ios::trunc) << bundle_json;
    auto [code, out] = RunCommand(std::string(LOUPE_CLI_BIN) + " verify " +
                                  dir + "/witnessed.json --root " + root_path_);
    *exit_code = code;
    return out;
  }

  WitnessProcess w1_{"witness.test/w1"}, w2_{"witness.test/w2"};
  TestServer server_;
  std::string root_path_;
  crypto::TrustRoot root_;
  std::unique_ptr<crypto::SigningKey> log_key_;
  std::unique_ptr<client::RegistryClient> aurum_;
};

TEST_F(WitnessTest, CosignaturesAreStapledAndThePolicyIsEnforced) {
  StartAll(2);
  const v1::Certificate issued = IssueCertificate("W-1");
  const uint64_t needed = issued.log_index() + 1;
  // The gateway's JSON of the certificate, read (and cached) before the
  // witnesses answer.
  auto http_bundle = [&] {
    const HttpReply r =
        HttpGet(server_.http_port(), "/api/v1/certificates/" + issued.id());
    const auto json = nlohmann::json::parse(r.body, nullptr, false);
    if (json.is_discarded() || !json.contains("bundle_json")) return r.body;
    auto bundle = crypto::ParseBundle(json["bundle_json"].get<std::string>());
    return bundle.ok() && bundle->log ? bundle->log->checkpoint : r.body;
  };
  (void)http_bundle();
  // /checkpoint carries both cosignatures once the witnesses answered.
  const std::string note =
      WaitFor([&] { return CheckpointNote(); },
              [&](const std::string& n) { return BothVouch(n, needed); });
  ASSERT_TRUE(BothVouch(note, needed)) << note << server_.log();
  // An independent verifier written from the C2SP texts agrees, and
  // refuses a wrong key.
  const std::string dir = server_.keys_dir();  // This test's own.
  std::ofstream(dir + "/cosigned.txt", std::ios::trunc) << note;
  const std::string check = "/usr/bin/python3 " LOUPE_SOURCE_DIR
                            "/tests/interop/cosignature_check.py " +
                            dir + "/cosigned.txt ";
  auto [ok, ok_out] = RunCommand(check + w1_.spec() + " " + w2_.spec());
  EXPECT_EQ(ok, 0) << ok_out;
  EXPECT_NE(ok_out.find("cosigned by witness.test/w2"), std::string::npos);
  auto stranger = crypto::SigningKey::Generate();
  EXPECT_NE(RunCommand(check + "witness.test/w2=" + Hex(stranger->public_key()))
                .first,
            0);

  // The bundle fetched again carries the cosigned checkpoint; `loupe
  // verify` names both witnesses.
  std::string bundle_json;
  WaitFor(
      [&] {
        bundle_json = GetCertificate(issued.id()).bundle_json();
        return crypto::ParseBundle(bundle_json)->log->checkpoint;
      },
      [&](const std::string& n) { return BothVouch(n, needed); });
  auto bundle = crypto::ParseBundle(bundle_json);
  ASSERT_TRUE(bundle.ok() && bundle->log);
  ASSERT_TRUE(BothVouch(bundle->log->checkpoint, needed)) << bundle_json;
  // The gateway's copy is not stuck at the one it cached before.
  const std::string http_note = http_bundle();
  EXPECT_TRUE(BothVouch(http_note, needed)) << http_note;
  int code = -1;
  std::string out = Verify(bundle_json, &code);
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("witnessed by: witness.test/w1, witness.test/w2"),
            std::string::npos)
      << out;

  // The same bundle with one cosignature removed fails the 2-of-2 policy.
  std::string& checkpoint = bundle->log->checkpoint;
  const size_t w2_line = checkpoint.find("\u2014 witness.test/w2 ");
  ASSERT_NE(w2_line, std::string::npos);
  checkpoint.erase(w2_line, checkpoint.find('\n', w2_line) + 1 - w2_line);
  out = Verify(crypto::EncodeBundle(*bundle), &code);
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("witness policy: 2 of 2 witnesses required, 1 vouched "
                     "(witness.test/w1)"),
            std::string::npos)
      << out;

  // `loupe log audit` names the witnesses of the checkpoint it sees.
  auto [audit, audit_out] =
      RunCommand(std::string(LOUPE_CLI_BIN) + " --server " + server_.target() +
                 " log audit --root " + root_path_);
  EXPECT_EQ(audit, 0) << audit_out;
  EXPECT_NE(audit_out.find("witnessed by: witness.test/w1, witness.test/w2"),
            std::string::npos)
      << audit_out;
}

// A fork shown to the witnesses, signed with the log's own key (a thief of
// the key, or the registry itself), gets no cosignature from either.
TEST_F(WitnessTest, AForkedCheckpointIsRefusedByBothWitnesses) {
  StartAll(2);
  const v1::Certificate issued = IssueCertificate("W-FORK");
  const std::string note =
      WaitFor([&] { return CheckpointNote(); },
              [&](const std::string& n) {
                return BothVouch(n, issued.log_index() + 1);
              });
  auto honest = crypto::VerifyCheckpoint(note, kOrigin, log_key_->public_key());
  ASSERT_TRUE(honest.ok()) << note;
  const uint64_t n = honest->size;

  // The same size with another root.
  const std::string same_size = crypto::SignCheckpoint(
      {kOrigin, n, crypto::LeafHash("rewritten")}, kOrigin, *log_key_);
  // A bigger tree that does not contain the witnessed one (its proof is
  // made up: no true proof exists).
  const std::string bigger = crypto::SignCheckpoint(
      {kOrigin, n + 5, crypto::LeafHash("bigger")}, kOrigin, *log_key_);
  std::vector<crypto::Hash> made_up;
  for (int i = 0; i < 4; ++i) {
    made_up.push_back(crypto::LeafHash("p" + std::to_string(i)));
  }
  for (WitnessProcess* w : {&w1_, &w2_}) {
    HttpReply r = HttpPost(w->port(), "/add-checkpoint",
                           crypto::EncodeAddCheckpoint({n, {}, same_size}));
    EXPECT_EQ(r.status, 422) << r.head << r.body;
    r = HttpPost(w->port(), "/add-checkpoint",
                 crypto::EncodeAddCheckpoint({n, made_up, bigger}));
    EXPECT_EQ(r.status, 422) << r.head << r.body;
    // Offered as a fresh start (old size 0), the witness says what it holds.
    r = HttpPost(w->port(), "/add-checkpoint",
                 crypto::EncodeAddCheckpoint({0, {}, same_size}));
    EXPECT_EQ(r.status, 409) << r.body;
    EXPECT_EQ(r.body, std::to_string(n) + "\n");
    EXPECT_NE(r.head.find("text/x.tlog.size"), std::string::npos) << r.head;
    EXPECT_NE(w->log().find("REFUSED a checkpoint of registry.test/loupe"),
              std::string::npos)
        << w->log();
  }
  // The honest log goes on being witnessed.
  const v1::Certificate later = IssueCertificate("W-AFTER");
  const std::string after =
      WaitFor([&] { return CheckpointNote(); },
              [&](const std::string& s) {
                return BothVouch(s, later.log_index() + 1);
              });
  EXPECT_TRUE(BothVouch(after, later.log_index() + 1)) << after;
}

// A witness that was shown a fork before (it cosigned another history of
// this origin) refuses the registry's true checkpoints: the registry
// reports it, and verifiers requiring both witnesses refuse the bundle.
TEST_F(WitnessTest, TheRegistryReportsAWitnessThatSawAnotherHistory) {
  StartAll(2, [&] {
    const std::string forged = crypto::SignCheckpoint(
        {kOrigin, 1, crypto::LeafHash("another history")}, kOrigin, *log_key_);
    HttpReply r = HttpPost(w2_.port(), "/add-checkpoint",
                           crypto::EncodeAddCheckpoint({0, {}, forged}));
    ASSERT_EQ(r.status, 200) << r.body;
  });
  const v1::Certificate issued = IssueCertificate("W-SPLIT");
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  while (server_.log().find("HTTP 422") == std::string::npos &&
         Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_NE(server_.log().find("witness witness.test/w2"), std::string::npos)
      << server_.log();
  EXPECT_NE(server_.log().find("HTTP 422"), std::string::npos) << server_.log();
  EXPECT_NE(
      HttpGet(server_.http_port(), "/metrics",
              std::string("Authorization: Bearer ") + kAdminToken + "\r\n")
          .body.find("loupe_requests_total{protocol=\"witness\",name="
                     "\"witness.test/w2\",code=\"422\"}"),
      std::string::npos);
  // w1 cosigns; w2 never does: the 2-of-2 policy refuses the bundle.
  const std::string note = WaitFor(
      [&] {
        return crypto::ParseBundle(GetCertificate(issued.id()).bundle_json())
            ->log->checkpoint;
      },
      [&](const std::string& n) {
        return crypto::CheckWitnessPolicy(n, Root(1)).ok();
      });
  EXPECT_TRUE(crypto::CheckWitnessPolicy(note, Root(1)).ok()) << note;
  int code = -1;
  const std::string out =
      Verify(GetCertificate(issued.id()).bundle_json(), &code);
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("2 of 2 witnesses required, 1 vouched (witness.test/w1)"),
            std::string::npos)
      << out;
}

}  // namespace
}  // namespace loupe::testing
