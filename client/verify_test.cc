// RunVerify against a lying or replaying registry (issue 15 item 4): the
// fetch functions below play the attacker's server; everything they return
// is signed by the genuine key, as a replay of what the registry once said.
#include "client/verify.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/time/clock.h"
#include "crypto/bundle.h"
#include "crypto/certificate.h"
#include "crypto/log_entry.h"
#include "crypto/piece_status.h"
#include "crypto/random.h"
#include "crypto/sha256.h"

namespace loupe::client {
namespace {

namespace fs = std::filesystem;
using namespace crypto;

constexpr char kOrigin[] = "registry.example/loupe";

class OnlineVerifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("loupe_online_" + RandomId(""));
    fs::create_directories(dir_);
    root_key_ = std::make_unique<SigningKey>(*SigningKey::Generate());
    key_ = std::make_unique<SigningKey>(*SigningKey::Generate());
    TrustRoot root{kOrigin,
                   1,
                   1,
                   {{root_key_->public_key(),
                     {kRoleRoot},
                     absl::UnixEpoch(),
                     std::nullopt},
                    {key_->public_key(),
                     {kRoleCertificate, kRoleCheckpoint},
                     absl::UnixEpoch(),
                     std::nullopt}}};
    Write("root.json", EnvelopeToJson(*SignRoot(root, {root_key_.get()})));
    Statement facts{{{"ring.stl", Sha256::HexOf("ring")}},
                    kCertificatePredicateType,
                    {{"piece_id", "pc_abc"}, {"version", 1}}};
    bundle_.certificate =
        *SignCertificate(facts, now_ - absl::Hours(24 * 60), *key_);
    const std::string entry =
        CertificateLogEntry(bundle_.certificate.payload, "pc_abc", 1);
    bundle_.log =
        LogProof{0,
                 1,
                 {},
                 SignCheckpoint({kOrigin, 1, LeafHash(entry)}, kOrigin, *key_)};
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Write(const std::string& name, const std::string& bytes) {
    std::ofstream(dir_ / name, std::ios::binary) << bytes;
  }
  std::string Status(const std::string& status, uint32_t sequence,
                     absl::Time as_of) {
    PieceStatusFacts facts;
    facts.piece_id = "pc_abc";
    facts.status = status;
    facts.status_sequence = sequence;
    facts.reason = status == "active" ? "" : "police report 77";
    facts.changed_by = "owner";
    facts.as_of = as_of;
    return EnvelopeToJson(*SignPieceStatus(facts, *key_));
  }
  // Verifies the bundle (with `stapled` if not empty) --online against a
  // server that answers `served`. Returns the exit code; output in out_.
  int Online(const std::string& stapled, const std::string& served) {
    Bundle bundle = bundle_;
    if (!stapled.empty()) bundle.status = *EnvelopeFromJson(stapled);
    Write("cert.json", EncodeBundle(bundle));
    VerifyOptions o;
    o.arguments = {(dir_ / "cert.json").string()};
    o.root = (dir_ / "root.json").string();
    o.now = now_;
    o.fetch_status = [served](const std::string&) {
      return absl::StatusOr<std::string>(served);
    };
    std::ostringstream out, err;
    const int code = RunVerify(o, out, err);
    out_ = out.str() + err.str();
    return code;
  }

  fs::path dir_;
  absl::Time now_ = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));
  std::unique_ptr<SigningKey> root_key_, key_;
  Bundle bundle_;
  std::string out_;
};

// A fake registry replays the genuine "active" statement it recorded a
// month ago, before the theft: refused as stale.
TEST_F(OnlineVerifyTest, AReplayedOldStatementIsRefusedAsStale) {
  const std::string stolen = Status("stolen", 2, now_ - absl::Hours(2));
  const std::string old_active = Status("active", 1, now_ - absl::Hours(720));
  EXPECT_EQ(Online(stolen, old_active), 1) << out_;
  EXPECT_NE(out_.find("replayed or stale"), std::string::npos) << out_;
  // Without a stapled statement the replay is refused all the same.
  EXPECT_EQ(Online("", old_active), 1) << out_;
}

// Even a fresh-looking statement may not take the status back in sequence
// behind the one the bundle carries.
TEST_F(OnlineVerifyTest, AStatementOlderInSequenceThanTheStapledOneIsRefused) {
  const std::string stolen = Status("stolen", 2, now_ - absl::Hours(2));
  EXPECT_EQ(Online(stolen, Status("active", 1, now_)), 1) << out_;
  EXPECT_NE(out_.find("older than the one this bundle carries"),
            std::string::npos)
      << out_;
  // A genuine recovery (a later sequence, fresh) is accepted...
  EXPECT_EQ(Online(stolen, Status("active", 3, now_ - absl::Seconds(5))), 0)
      << out_;
  EXPECT_NE(out_.find("(fetched online)"), std::string::npos) << out_;
  // ...and a fresh "stolen" fails as stolen.
  EXPECT_EQ(Online("", Status("stolen", 2, now_)), 1) << out_;
  EXPECT_NE(out_.find("piece STOLEN"), std::string::npos) << out_;
}

}  // namespace
}  // namespace loupe::client
