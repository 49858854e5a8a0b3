// The registry's signer (signer.h): what it loads and refuses (files,
// passphrase, the key's roles and validity in the trust root), and that
// what it signs verifies against the root.
#include "server/signing/signer.h"

#include <gtest/gtest.h>

#include "absl/time/clock.h"
#include "crypto/bundle.h"
#include "crypto/certificate.h"
#include "crypto/checkpoint.h"
#include "crypto/log_entry.h"
#include "crypto/piece_status.h"
#include "crypto/random.h"
#include "crypto/sha256.h"
#include "server/signing/signer_for_tests.h"

namespace loupe::server {
namespace {

namespace fs = std::filesystem;

class SignerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("loupe_signer_" + crypto::RandomId(""));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // INVALID_ARGUMENT naming `option`, or a failure.
  static void ExpectRefused(const v1::SigningConfig& config,
                            std::string_view option) {
    auto signer = CertificateSigner::Load(config);
    ASSERT_FALSE(signer.ok());
    EXPECT_EQ(signer.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(std::string(signer.status().message()).find(option),
              std::string::npos)
        << signer.status();
  }

  fs::path dir_;
};

v1::Piece Piece() {
  v1::Piece p;
  p.set_id("pc_abcdefghijklmnopqrstuvwxyz");
  p.set_studio_id("aurum");
  p.set_studio_reference("A-1001");
  p.set_kind(v1::PIECE_KIND_RING);
  return p;
}

v1::TwinVersion Version() {
  v1::TwinVersion v;
  v.set_piece_id("pc_abcdefghijklmnopqrstuvwxyz");
  v.set_number(1);
  v.set_reason(v1::VERSION_REASON_ORIGINAL);
  auto* a = v.add_assets();
  a->set_file_name("ring.stl");
  a->set_sha256(crypto::Sha256::HexOf("cad"));
  return v;
}

TEST_F(SignerTest, SignsCheckpointsUnderTheRootsOrigin) {
  auto files = WriteSignerFilesForTests(dir_);
  auto signer = CertificateSigner::Load(files.config);
  ASSERT_TRUE(signer.ok()) << signer.status();
  EXPECT_EQ((*signer)->origin(), kTestOrigin);
  EXPECT_TRUE((*signer)->Rotations().empty());  // Only root v1.
  const crypto::Hash root = crypto::LeafHash("tree");
  const std::string note = (*signer)->SignCheckpoint(7, root);
  auto checkpoint = crypto::VerifyCheckpoint(note, kTestOrigin,
                                             files.signing_key.public_key());
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
  EXPECT_EQ(checkpoint->size, 7u);
  EXPECT_EQ(checkpoint->root, root);
  EXPECT_TRUE((*signer)->SignedCheckpoint(note));
  // A checkpoint signed by another key (before a rotation) is not its own.
  const std::string other = crypto::SignCheckpoint({kTestOrigin, 7, root},
                                                   kTestOrigin, files.root_key);
  EXPECT_FALSE((*signer)->SignedCheckpoint(other));
  EXPECT_FALSE((*signer)->SignedCheckpoint("not a note"));
}

TEST_F(SignerTest, IssuesCertificatesThatVerifyAgainstTheRoot) {
  auto files = WriteSignerFilesForTests(dir_);
  auto signer = *CertificateSigner::Load(files.config);
  const absl::Time now = absl::FromUnixSeconds(1750000000) + absl::Seconds(0.7);
  auto issued = signer->Issue(Piece(), Version(), "", now);
  ASSERT_TRUE(issued.ok()) << issued.status();
  const v1::Certificate& c = issued->certificate;
  EXPECT_EQ(c.piece_id(), Piece().id());
  EXPECT_EQ(c.version(), 1u);
  EXPECT_EQ(c.keyid(), crypto::KeyId(files.signing_key.public_key()));
  EXPECT_EQ(c.issued_at().seconds(), 1750000000);  // Whole seconds.
  auto bundle = crypto::ParseBundle(c.bundle_json());
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  EXPECT_EQ(c.id(), crypto::CertificateId(bundle->certificate.payload));
  EXPECT_EQ(issued->log_entry,
            crypto::CertificateLogEntry(bundle->certificate.payload,
                                        Piece().id(), 1));
  auto verified = crypto::VerifyCertificate(bundle->certificate, files.root);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->keyid, c.keyid());
  EXPECT_EQ(verified->issued_at, absl::FromUnixSeconds(1750000000));
}

TEST_F(SignerTest, SignsStatusStatementsThatVerify) {
  auto files = WriteSignerFilesForTests(dir_);
  auto signer = *CertificateSigner::Load(files.config);
  v1::Piece piece = Piece();
  piece.set_status(v1::PIECE_STATUS_STOLEN);
  piece.set_status_sequence(3);
  piece.set_status_reason("taken from the shop");
  piece.set_status_changed_by("owner");
  auto envelope = signer->SignStatus(piece, absl::FromUnixSeconds(1750000000));
  ASSERT_TRUE(envelope.ok()) << envelope.status();
  auto facts = crypto::VerifyPieceStatus(*envelope, files.root);
  ASSERT_TRUE(facts.ok()) << facts.status();
  EXPECT_EQ(facts->status, "stolen");
  EXPECT_EQ(facts->status_sequence, 3u);
  EXPECT_EQ(facts->reason, "taken from the shop");
  EXPECT_TRUE(facts->owner.empty());
}

TEST_F(SignerTest, AKeyNeedsBothRolesInTheRoot) {
  for (const char* missing :
       {crypto::kRoleCheckpoint, crypto::kRoleCertificate}) {
    const fs::path dir = dir_ / missing;
    fs::create_directories(dir);
    std::vector<std::string> roles;
    for (const char* role :
         {crypto::kRoleCertificate, crypto::kRoleCheckpoint}) {
      if (std::string_view(role) != missing) roles.push_back(role);
    }
    auto files = WriteSignerFilesForTests(dir, roles);
    ExpectRefused(files.config, "signing.key_file");
  }
}

TEST_F(SignerTest, AKeyNotYetValidIsRefused) {
  auto files = WriteSignerFilesForTests(
      dir_, {crypto::kRoleCertificate, crypto::kRoleCheckpoint},
      absl::Now() + absl::Hours(24));
  ExpectRefused(files.config, "signing.key_file");
}

TEST_F(SignerTest, MissingOrWrongFilesAreRefusedNamingTheOption) {
  auto files = WriteSignerFilesForTests(dir_);
  v1::SigningConfig config = files.config;
  config.set_key_file((dir_ / "absent.json").string());
  ExpectRefused(config, "signing.key_file");

  std::ofstream(dir_ / "wrong") << "another passphrase\n";
  config = files.config;
  config.set_passphrase_file((dir_ / "wrong").string());
  ExpectRefused(config, "signing.key_file");  // Does not open the key.
  config.set_passphrase_file((dir_ / "absent").string());
  ExpectRefused(config, "signing.passphrase_file");

  config = files.config;
  config.clear_root_files();
  ExpectRefused(config, "signing.root_files");
  config.add_root_files((dir_ / "passphrase").string());  // Not a root.
  ExpectRefused(config, "signing.root_files");

  // A root that does not list this key.
  const fs::path other = dir_ / "other";
  fs::create_directories(other);
  auto stranger = WriteSignerFilesForTests(other);
  config = files.config;
  config.set_root_files(0, stranger.config.root_files(0));
  ExpectRefused(config, "signing.key_file");
  EXPECT_TRUE(CertificateSigner::Load(files.config).ok());
}

TEST(PieceStatusWordTest, NamesEveryStatus) {
  EXPECT_EQ(PieceStatusWord(v1::PIECE_STATUS_ACTIVE), "active");
  EXPECT_EQ(PieceStatusWord(v1::PIECE_STATUS_SUSPENDED), "suspended");
  EXPECT_EQ(PieceStatusWord(v1::PIECE_STATUS_REVOKED), "revoked");
  EXPECT_EQ(PieceStatusWord(v1::PIECE_STATUS_LOST), "lost");
  EXPECT_EQ(PieceStatusWord(v1::PIECE_STATUS_STOLEN), "stolen");
  // Pieces stored before statuses existed read as active.
  EXPECT_EQ(PieceStatusWord(v1::PIECE_STATUS_UNSPECIFIED), "active");
}

}  // namespace
}  // namespace loupe::server
