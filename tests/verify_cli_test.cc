// `loupe verify` end to end: the real binary, offline, against bundles and
// roots made with the crypto library; tampering of every kind is refused
// with exit 1 and a reason, usage errors exit 2.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "crypto/bundle.h"
#include "crypto/certificate.h"
#include "crypto/random.h"
#include "crypto/sha256.h"

namespace loupe::testing {
namespace {

namespace fs = std::filesystem;
using namespace crypto;

absl::Time Day(int d) {
  return absl::FromCivil(absl::CivilDay(2026, 1, 1), absl::UTCTimeZone()) +
         absl::Hours(24 * d);
}

struct Result {
  int exit_code;
  std::string output;
};

class VerifyCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("loupe_verify_" + RandomId(""));
    fs::create_directories(dir_ / "files");
    for (int i = 0; i < 4; ++i) keys_.push_back(*SigningKey::Generate());
    // v1: root key 0, certificate key 1 until day 100. v2 adds key 3.
    v1_ = TrustRoot{
        "registry.example/loupe",
        1,
        1,
        {RootKey{keys_[0].public_key(), {kRoleRoot}, Day(0)},
         RootKey{keys_[1].public_key(), {kRoleCertificate}, Day(0), Day(100)}}};
    v2_ = v1_;
    v2_.version = 2;
    v2_.keys.push_back(
        RootKey{keys_[3].public_key(), {kRoleCertificate}, Day(100)});
    Write("root-v1.json", EnvelopeToJson(*SignRoot(v1_, {&keys_[0]})));
    Write("files/ring.stl", "solid ring");
    Write("files/scan.ply", "ply scan");
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Path(const std::string& name) { return (dir_ / name).string(); }
  void Write(const std::string& name, const std::string& bytes) {
    std::ofstream(Path(name), std::ios::binary) << bytes;
  }

  Statement Facts() {
    return Statement{{{"ring.stl", Sha256::HexOf("solid ring")},
                      {"scan.ply", Sha256::HexOf("ply scan")}},
                     kCertificatePredicateType,
                     {{"piece_id", "pc_abc"}, {"version", 2}}};
  }

  // Writes a bundle signed by `signer` at `when`, carrying `roots`.
  void MakeBundle(const std::string& name, const SigningKey& signer,
                  absl::Time when, std::vector<DsseEnvelope> roots = {}) {
    Write(name, EncodeBundle({*SignCertificate(Facts(), when, signer), roots}));
  }

  Result Verify(const std::string& args) {
    const std::string command =
        std::string(LOUPE_CLI_BIN) + " verify " + args + " 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    std::string output;
    char buffer[4096];
    while (size_t n = fread(buffer, 1, sizeof buffer, pipe))
      output.append(buffer, n);
    const int status = pclose(pipe);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
  }

  fs::path dir_;
  std::vector<SigningKey> keys_;
  TrustRoot v1_, v2_;
};

TEST_F(VerifyCliTest, ValidBundleAndFiles) {
  MakeBundle("cert.json", keys_[1], Day(50));
  auto r = Verify(Path("cert.json") + " --root " + Path("root-v1.json") +
                  " --dir " + Path("files"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("VALID: piece pc_abc version 2"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("matches ring.stl"), std::string::npos);
  // Only one file given: still valid, the other subject is reported.
  r = Verify(Path("cert.json") + " --root " + Path("root-v1.json") +
             " --file " + Path("files/ring.stl"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("no file given for scan.ply"), std::string::npos);
  // The syntax: BUNDLE... --root ROOT FILES...
  r = Verify(Path("cert.json") + " --root " + Path("root-v1.json") + " " +
             Path("files/ring.stl") + " " + Path("files/scan.ply"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("matches scan.ply"), std::string::npos) << r.output;
  // JSON for scripts.
  r = Verify(Path("cert.json") + " --root " + Path("root-v1.json") + " --json");
  EXPECT_EQ(r.exit_code, 0);
  auto json = nlohmann::json::parse(r.output);
  EXPECT_TRUE(json["valid"]);
  EXPECT_EQ(json["bundles"][0]["predicate"]["piece_id"], "pc_abc");
}

TEST_F(VerifyCliTest, TamperedBundlesAndFilesFailWithAReason) {
  MakeBundle("cert.json", keys_[1], Day(50));
  const std::string good = *[&] {
    std::ifstream in(Path("cert.json"));
    std::stringstream s;
    s << in.rdbuf();
    return std::make_optional(s.str());
  }();
  auto bundle = nlohmann::json::parse(good);
  // A changed byte in the payload, the signature or the key id.
  for (const std::string field : {"payload", "sig", "keyid"}) {
    auto bad = bundle;
    auto& target = field == "payload"
                       ? bad["certificate"]["payload"]
                       : bad["certificate"]["signatures"][0][field];
    std::string value = target.get<std::string>();
    value[10] = value[10] == 'A' ? 'B' : 'A';
    target = value;
    Write("bad.json", bad.dump());
    auto r = Verify(Path("bad.json") + " --root " + Path("root-v1.json"));
    EXPECT_EQ(r.exit_code, 1) << field << ": " << r.output;
    EXPECT_NE(r.output.find("INVALID"), std::string::npos) << r.output;
  }
  // A changed file matches no subject.
  Write("files/scan.ply", "ply scan, altered");
  auto r = Verify(Path("cert.json") + " --root " + Path("root-v1.json") +
                  " --dir " + Path("files"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("scan.ply: MATCHES NO SUBJECT"), std::string::npos)
      << r.output;
  // Truncated and malformed bundles: a clear error, no crash.
  for (size_t n : {size_t{0}, size_t{1}, good.size() / 2, good.size() - 3}) {
    Write("cut.json", good.substr(0, n));
    r = Verify(Path("cut.json") + " --root " + Path("root-v1.json"));
    EXPECT_EQ(r.exit_code, 1) << n << ": " << r.output;
    EXPECT_NE(r.output.find("cut.json: INVALID: bundle"), std::string::npos)
        << r.output;
  }
}

TEST_F(VerifyCliTest, KeysRotationsAndRollbacks) {
  // A key not in the root.
  MakeBundle("stranger.json", keys_[2], Day(50));
  auto r = Verify(Path("stranger.json") + " --root " + Path("root-v1.json"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("not trusted"), std::string::npos) << r.output;
  // The rotated-out key after its validity, and before.
  MakeBundle("late.json", keys_[1], Day(120));
  r = Verify(Path("late.json") + " --root " + Path("root-v1.json"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("was not valid"), std::string::npos) << r.output;
  // A holder of v1 follows the rotation to v2 carried in the bundle.
  const DsseEnvelope v2 = *SignRoot(v2_, {&keys_[0]});
  MakeBundle("new-key.json", keys_[3], Day(120), {v2});
  r = Verify(Path("new-key.json") + " --root " + Path("root-v1.json"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  // Without the v2 root the new key is unknown.
  MakeBundle("no-root.json", keys_[3], Day(120));
  EXPECT_EQ(Verify(Path("no-root.json") + " --root " + Path("root-v1.json"))
                .exit_code,
            1);
  // A forged v2 (not signed by v1's root key) is refused.
  TrustRoot forged = v2_;
  forged.keys[0].public_key = keys_[2].public_key();
  MakeBundle("forged.json", keys_[3], Day(120),
             {*SignRoot(forged, {&keys_[2]})});
  r = Verify(Path("forged.json") + " --root " + Path("root-v1.json"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("previous"), std::string::npos) << r.output;
  // Many bundles in one call: one invalid makes the call fail, each named.
  MakeBundle("ok.json", keys_[1], Day(10));
  r = Verify(Path("ok.json") + " " + Path("late.json") + " --root " +
             Path("root-v1.json"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("ok.json: VALID"), std::string::npos);
  EXPECT_NE(r.output.find("late.json: INVALID"), std::string::npos);
}

// Interoperability: an independent verifier written from the published
// formats (Python, Debian's python3-nacl) accepts a Loupe certificate and
// its file, and refuses a tampered bundle and a foreign file.
TEST_F(VerifyCliTest, IndependentVerifierAcceptsLoupeCertificates) {
  MakeBundle("cert.json", keys_[1], Day(50));
  const std::string pub =
      ToHex(keys_[1].public_key().data(), keys_[1].public_key().size());
  auto run = [&](const std::string& bundle, const std::string& file) {
    const std::string command =
        std::string("/usr/bin/python3 ") + LOUPE_SOURCE_DIR +
        "/tests/interop/verify_certificate.py " + Path(bundle) + " " + pub +
        " " + Path(file) + " > /dev/null";
    return std::system(command.c_str());
  };
  EXPECT_EQ(run("cert.json", "files/ring.stl"), 0);
  Write("other.bin", "not in the certificate");
  EXPECT_NE(run("cert.json", "other.bin"), 0);
  auto bundle = nlohmann::json::parse(std::ifstream(Path("cert.json")));
  std::string payload = bundle["certificate"]["payload"];
  payload[20] = payload[20] == 'A' ? 'B' : 'A';
  bundle["certificate"]["payload"] = payload;
  Write("tampered.json", bundle.dump());
  EXPECT_NE(run("tampered.json", "files/ring.stl"), 0);
}

TEST_F(VerifyCliTest, UsageErrorsExit2) {
  MakeBundle("cert.json", keys_[1], Day(50));
  EXPECT_EQ(Verify(Path("cert.json")).exit_code, 2);  // No --root.
  EXPECT_EQ(Verify("--root " + Path("root-v1.json")).exit_code, 2);
  // A file where the bundle should be: reported as a malformed bundle.
  auto r = Verify(Path("files/ring.stl") + " --root " + Path("root-v1.json"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("ring.stl: INVALID: bundle"), std::string::npos)
      << r.output;
  EXPECT_EQ(Verify(Path("cert.json") + " --root /nonexistent").exit_code, 2);
  EXPECT_EQ(Verify(Path("cert.json") + " --root " + Path("root-v1.json") +
                   " --file /nonexistent")
                .exit_code,
            2);
  Write("not-root.json", "{}");
  EXPECT_EQ(
      Verify(Path("cert.json") + " --root " + Path("not-root.json")).exit_code,
      2);
}

}  // namespace
}  // namespace loupe::testing
