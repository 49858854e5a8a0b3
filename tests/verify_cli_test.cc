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
#include "crypto/log_entry.h"
#include "crypto/piece_status.h"
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
    for (int i = 0; i < 5; ++i) keys_.push_back(*SigningKey::Generate());
    // v1: root key 0, certificate and checkpoint key 1 until day 100 (in
    // the past: retired), checkpoint key 4 from day 0 (the log's current
    // key). v2 adds key 3.
    v1_ = TrustRoot{
        "registry.example/loupe",
        1,
        1,
        {RootKey{keys_[0].public_key(), {kRoleRoot}, Day(0), std::nullopt},
         RootKey{keys_[1].public_key(),
                 {kRoleCertificate, kRoleCheckpoint},
                 Day(0),
                 Day(100)},
         RootKey{
             keys_[4].public_key(), {kRoleCheckpoint}, Day(0), std::nullopt}}};
    v2_ = v1_;
    v2_.version = 2;
    v2_.keys.push_back(RootKey{keys_[3].public_key(),
                               {kRoleCertificate, kRoleCheckpoint},
                               Day(100),
                               std::nullopt});
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

  // A bundle signed by `signer` at `when`, carrying `roots`, logged as
  // entry 3 of a log of 5 whose checkpoint `log_signer` signs (default:
  // the current checkpoint key 4).
  Bundle Make(const SigningKey& signer, absl::Time when,
              std::vector<DsseEnvelope> roots = {},
              const SigningKey* log_signer = nullptr) {
    Bundle bundle{*SignCertificate(Facts(), when, signer),
                  roots,
                  std::nullopt,
                  std::nullopt,
                  {}};
    std::vector<Hash> leaves;
    for (int i = 0; i < 5; ++i) {
      leaves.push_back(LeafHash(
          i == 3 ? CertificateLogEntry(bundle.certificate.payload, "pc_abc", 2)
                 : "other entry " + std::to_string(i)));
    }
    bundle.log = LogProof{
        3, 5, *InclusionProof(leaves, 3, 5),
        SignCheckpoint({"registry.example/loupe", 5, SubtreeRoot(leaves, 0, 5)},
                       "registry.example/loupe",
                       log_signer ? *log_signer : keys_[4])};
    return bundle;
  }
  void MakeBundle(const std::string& name, const SigningKey& signer,
                  absl::Time when, std::vector<DsseEnvelope> roots = {}) {
    Write(name, EncodeBundle(Make(signer, when, roots)));
  }
  // A status statement of pc_abc as of `when`.
  DsseEnvelope Status(const std::string& status, absl::Time when,
                      const std::string& piece = "pc_abc") {
    PieceStatusFacts facts;
    facts.piece_id = piece;
    facts.status = status;
    facts.reason = status == "active" ? "" : "police report 77";
    facts.changed_by = "insurer:axa";
    facts.as_of = when;
    return *SignPieceStatus(facts, keys_[1]);
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
  // The issue's syntax: BUNDLE... --root ROOT FILES...
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

// Issue 15 item 1. A thief of the retired key 1 signs a certificate dated
// while it was valid, for a piece that never existed, plus a one-entry tree
// and its checkpoint. Its certificate signature verifies (dated in its
// window), so only the log can refuse it: a checkpoint carries no time, and
// the retired key no longer vouches for any tree.
TEST_F(VerifyCliTest, RetiredKeyCannotWriteHistory) {
  const DsseEnvelope v2 = *SignRoot(v2_, {&keys_[0]});
  Write("root-v2.json", EnvelopeToJson(v2));
  Bundle forged{*SignCertificate(Facts(), Day(50), keys_[1]),
                {v2},
                std::nullopt,
                std::nullopt};
  const std::string entry =
      CertificateLogEntry(forged.certificate.payload, "pc_abc", 2);
  forged.log =
      LogProof{0,
               1,
               {},
               SignCheckpoint({"registry.example/loupe", 1, LeafHash(entry)},
                              "registry.example/loupe", keys_[1])};
  Write("forged.json", EncodeBundle(forged));
  for (const char* root : {"root-v1.json", "root-v2.json"}) {
    auto r = Verify(Path("forged.json") + " --root " + Path(root) + " " +
                    Path("files/ring.stl"));
    EXPECT_EQ(r.exit_code, 1) << root << ": " << r.output;
    EXPECT_NE(r.output.find("no longer trusted"), std::string::npos)
        << r.output;
  }
  // An honest certificate of key 1's time, its inclusion proven against a
  // checkpoint the current key signed (a refreshed proof), stays valid.
  MakeBundle("honest.json", keys_[1], Day(50), {v2});
  auto r = Verify(Path("honest.json") + " --root " + Path("root-v1.json") +
                  " " + Path("files/ring.stl"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

// --all-files: an insurer holding the whole set fails a bundle whose files
// were not all given; without it, the missing ones are only listed.
TEST_F(VerifyCliTest, AllFilesRequiresEverySubject) {
  MakeBundle("cert.json", keys_[1], Day(50));
  const std::string base = Path("cert.json") + " --root " +
                           Path("root-v1.json") + " " + Path("files/ring.stl");
  auto r = Verify(base);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("no file given for scan.ply"), std::string::npos);
  r = Verify(base + " --all-files");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("MISSING: no file given for scan.ply"),
            std::string::npos)
      << r.output;
  r = Verify(base + " " + Path("files/scan.ply") + " --all-files");
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

// A bundle file larger than any bundle is refused before it is read.
TEST_F(VerifyCliTest, OversizedBundleFilesAreRefusedUnread) {
  {
    std::ofstream out(Path("huge.json"), std::ios::binary);
    out << "{\"certificate\":";
    out.seekp((16 << 20) + 10);
    out << "}";
  }
  auto r = Verify(Path("huge.json") + " --root " + Path("root-v1.json"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("more than any bundle"), std::string::npos)
      << r.output;
}

TEST_F(VerifyCliTest, LogProofIsRequiredAndChecked) {
  MakeBundle("cert.json", keys_[1], Day(50));
  auto r = Verify(Path("cert.json") + " --root " + Path("root-v1.json"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("logged: entry 3 of the signed tree of 5"),
            std::string::npos)
      << r.output;
  // No proof at all: refused unless explicitly allowed.
  Bundle bundle = Make(keys_[1], Day(50));
  bundle.log.reset();
  Write("unlogged.json", EncodeBundle(bundle));
  r = Verify(Path("unlogged.json") + " --root " + Path("root-v1.json"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("bundle.log: missing"), std::string::npos)
      << r.output;
  EXPECT_EQ(Verify(Path("unlogged.json") + " --root " + Path("root-v1.json") +
                   " --allow-unlogged")
                .exit_code,
            0);
  // A wrong proof hash.
  bundle = Make(keys_[1], Day(50));
  bundle.log->inclusion[1][0] ^= 0x80;
  Write("bad-proof.json", EncodeBundle(bundle));
  r = Verify(Path("bad-proof.json") + " --root " + Path("root-v1.json"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("log.inclusion_proof"), std::string::npos)
      << r.output;
  // A checkpoint signed by a key the root does not list.
  Write("foreign.json", EncodeBundle(Make(keys_[1], Day(50), {}, &keys_[2])));
  r = Verify(Path("foreign.json") + " --root " + Path("root-v1.json"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("checkpoint"), std::string::npos) << r.output;
}

// A status reason holding terminal controls (a registry before issue 15
// accepted them) cannot rewrite the report: an ANSI "erase line", a
// carriage return and a forged VALID line come out escaped.
TEST_F(VerifyCliTest, StatusReasonsCannotDriveTheTerminal) {
  Bundle bundle = Make(keys_[1], Day(50));
  PieceStatusFacts facts;
  facts.piece_id = "pc_abc";
  facts.status = "stolen";
  facts.reason = "x\x1b[2K\r" + Path("cert.json") +
                 ": VALID \xc2\x9b"
                 "2J";
  facts.changed_by = "insurer:axa";
  facts.as_of = Day(60);
  bundle.status = *SignPieceStatus(facts, keys_[1]);
  Write("cert.json", EncodeBundle(bundle));
  auto r = Verify(Path("cert.json") + " --root " + Path("root-v1.json"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("piece STOLEN: x\\x1b[2K\\x0d"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("VALID \\u009b2J"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find('\x1b'), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find('\r'), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("\xc2\x9b"), std::string::npos) << r.output;
}

TEST_F(VerifyCliTest, StapledStatusIsJudgedOffline) {
  auto with_status = [&](const std::string& name, DsseEnvelope status) {
    Bundle bundle = Make(keys_[1], Day(50));
    bundle.status = std::move(status);
    Write(name, EncodeBundle(bundle));
    return Path(name);
  };
  const std::string root = " --root " + Path("root-v1.json");
  // Fresh and active: valid, and within --max-status-age.
  auto r = Verify(with_status("active.json", Status("active", Day(60))) + root);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("status: active as of 2026-03-02"), std::string::npos)
      << r.output;
  // Revoked or stolen: fails loudly, with the reason.
  r = Verify(with_status("revoked.json", Status("revoked", Day(60))) + root);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("piece REVOKED: police report 77 (by insurer:axa"),
            std::string::npos)
      << r.output;
  r = Verify(with_status("stolen.json", Status("stolen", Day(60))) + root);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("piece STOLEN"), std::string::npos) << r.output;
  // --max-status-age: a statement older than allowed, or none, fails.
  const std::string old = with_status("old.json", Status("active", Day(60)));
  r = Verify(old + root + " --max-status-age 30d");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("--max-status-age allows 30 days"), std::string::npos)
      << r.output;
  MakeBundle("plain.json", keys_[1], Day(50));
  r = Verify(Path("plain.json") + root + " --max-status-age 30d");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("none stapled"), std::string::npos) << r.output;
  r = Verify(Path("plain.json") + root + " --max-status-age 30x");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  // A statement about another piece, or not signed by a certificate key.
  r = Verify(with_status("other.json", Status("active", Day(60), "pc_zzz")) +
             root);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("is about piece pc_zzz"), std::string::npos)
      << r.output;
  PieceStatusFacts facts;
  facts.piece_id = "pc_abc";
  facts.status = "active";
  facts.as_of = Day(60);
  r = Verify(with_status("forged.json", *SignPieceStatus(facts, keys_[2])) +
             root);
  EXPECT_EQ(r.exit_code, 1) << r.output;
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

// Hostile input (issue 15): a 400 KB deeply nested bundle crashed
// `loupe verify` (SIGSEGV); it and an ambiguous bundle now exit 1 naming
// the problem.
TEST_F(VerifyCliTest, HostileBundlesFailNamingTheProblem) {
  const size_t depth = 200000;  // 400 KB of brackets.
  Write("deep.json", std::string(R"({"certificate":)") +
                         std::string(depth, '[') + std::string(depth, ']') +
                         R"(,"format":")" + kBundleFormat + "\"}");
  auto r = Verify(Path("deep.json") + " --root " + Path("root-v1.json"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("deep.json: INVALID: bundle: nested deeper than 64"),
            std::string::npos)
      << r.output;
  MakeBundle("cert.json", keys_[1], Day(50));
  std::ifstream in(Path("cert.json"));
  std::stringstream good;
  good << in.rdbuf();
  std::string twice = good.str();
  twice.insert(twice.find('{') + 1, R"("format":"other",)");
  Write("twice.json", twice);
  r = Verify(Path("twice.json") + " --root " + Path("root-v1.json"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("duplicate key \"format\""), std::string::npos)
      << r.output;
}

}  // namespace
}  // namespace loupe::testing
