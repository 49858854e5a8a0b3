// Certificates issued through a real server and verified offline by the
// real `loupe verify`.
#include "crypto/certificate.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/file.h"
#include "crypto/bundle.h"
#include "crypto/key_file.h"
#include "crypto/log_entry.h"
#include "crypto/sha256.h"
#include "crypto/statement.h"
#include "tests/test_server.h"
#include "tests/test_util.h"

namespace loupe::testing {
namespace {

int RunVerify(const std::string& args) {
  const std::string command =
      std::string(LOUPE_CLI_BIN) + " verify " + args + " > /dev/null 2>&1";
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The real `loupe` with `args`.
CliResult RunCli(const std::string& args) {
  return RunCommand(std::string(LOUPE_CLI_BIN) + " " + args);
}

nlohmann::json Predicate(const v1::Certificate& c) {
  auto bundle = crypto::ParseBundle(c.bundle_json());
  return crypto::ParseStatement(bundle->certificate.payload)->predicate;
}

class CertificateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = server_.EnableSigning();
    ASSERT_OK(server_.Start());
    aurum_ = server_.Client(kAurumToken);
    cad_ = TestBytes(30000, 21);
    ASSERT_TRUE(aurum_->UploadBytes(HeaderFor(cad_), cad_).ok());
    auto request = PieceRequest("aurum", "A-CERT");
    *request.mutable_first_version()->add_assets() = CadAsset(cad_);
    auto piece = aurum_->CreatePiece(request);
    ASSERT_TRUE(piece.ok()) << piece.status();
    piece_ = *piece;
  }

  absl::StatusOr<v1::Certificate> Issue(client::RegistryClient& c,
                                        uint32_t version) {
    grpc::ClientContext ctx;
    c.Prepare(&ctx, 30);
    v1::IssueCertificateRequest request;
    request.set_piece_id(piece_.id());
    request.set_version(version);
    v1::Certificate response;
    auto s = c.stub().IssueCertificate(&ctx, request, &response);
    if (!s.ok()) {
      return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                          s.error_message());
    }
    return response;
  }

  TestServer server_;
  std::string root_;
  std::unique_ptr<client::RegistryClient> aurum_;
  std::string cad_;
  v1::Piece piece_;
};

TEST_F(CertificateTest, IssuedCertificatesVerifyOfflineWithTheirFiles) {
  auto cert = Issue(*aurum_, 0);
  ASSERT_TRUE(cert.ok()) << cert.status();
  EXPECT_EQ(cert->id().substr(0, 3), "ct_");
  EXPECT_EQ(cert->version(), 1u);
  const std::string dir = ::testing::TempDir();
  std::ofstream(dir + "/cert.json") << cert->bundle_json();
  std::ofstream(dir + "/ring.stl", std::ios::binary) << cad_;
  std::ofstream(dir + "/other.stl", std::ios::binary) << "not the design";
  EXPECT_EQ(RunVerify(dir + "/cert.json --root " + root_ + " --file " + dir +
                      "/ring.stl"),
            0);
  EXPECT_EQ(RunVerify(dir + "/cert.json --root " + root_ + " --file " + dir +
                      "/other.stl"),
            1);
  // Issued once per version; readable by any principal.
  EXPECT_EQ(Issue(*aurum_, 1)->id(), cert->id());
  grpc::ClientContext ctx;
  auto insurer = server_.Client(kInsurerToken);
  insurer->Prepare(&ctx, 30);
  v1::GetCertificateRequest get;
  get.set_certificate_id(cert->id());
  v1::Certificate got;
  ASSERT_TRUE(insurer->stub().GetCertificate(&ctx, get, &got).ok());
  EXPECT_EQ(got.bundle_json(), cert->bundle_json());
}

// Issue 15 item 1, end to end with `loupe-server keys rotate`: bundles
// fetched before the rotation carry a checkpoint only the retired key
// signed, which no longer verifies; --online and `cert get --refresh`
// bring a proof the new key vouches for; and the retired key's thief
// cannot make a forged certificate look logged.
TEST_F(CertificateTest,
       AfterARotationOldBundlesRefreshAndTheRetiredKeyForgesNothing) {
  auto cert = Issue(*aurum_, 0);
  ASSERT_TRUE(cert.ok()) << cert.status();
  const std::string dir = ::testing::TempDir() + "/rotation";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/old.json") << cert->bundle_json();
  std::ofstream(dir + "/ring.stl", std::ios::binary) << cad_;
  const std::string check = " --root " + root_ + " --file " + dir + "/ring.stl";
  EXPECT_EQ(RunCli("verify " + dir + "/old.json" + check).exit_code, 0);

  const std::string audit =
      "log audit --root " + root_ + " --server " + server_.target();
  ASSERT_EQ(RunCli(audit + " --save " + dir + "/saved.txt").exit_code, 0);

  ASSERT_EQ(server_.Stop(), 0);
  std::this_thread::sleep_for(std::chrono::seconds(1));  // Issued before.
  auto v2 = server_.RotateSigningKey();
  ASSERT_TRUE(v2.ok()) << v2.status();
  ASSERT_OK(server_.Start());
  const std::string online = " --server " + server_.target();

  // A verifier who holds root v2 knows the old key retired: the old
  // bundle's checkpoint no longer counts. (One who holds only v1 and gets
  // no newer root cannot know; docs/security.md.)
  const std::string check_v2 =
      " --root " + *v2 + " --file " + dir + "/ring.stl";
  auto r = RunCli("verify " + dir + "/old.json" + check_v2);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("no longer trusted"), std::string::npos) << r.output;
  r = RunCli("verify " + dir + "/old.json" + check_v2 + " --online" + online);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("proof fetched online"), std::string::npos)
      << r.output;
  r = RunCli("cert get --refresh " + dir + "/old.json" + online);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = RunCli("verify " + dir + "/old.json" + check);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  // An auditor holding root v1 follows the rotation the registry sends
  // with its checkpoint (re-signed by the new key), and its own checkpoint
  // saved before the rotation still anchors the consistency check.
  r = RunCli("log audit --root " + root_ + online + " --checkpoint " + dir +
             "/saved.txt");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("consistent with the saved"), std::string::npos)
      << r.output;
  // A holder of root v2 alone verifies the refreshed bundle too.
  r = RunCli("verify " + dir + "/old.json --root " + *v2 + " --file " + dir +
             "/ring.stl");
  EXPECT_EQ(r.exit_code, 0) << r.output;

  // The thief of the retired key: a certificate dated inside its window
  // for a piece that never existed, a one-entry tree and its checkpoint.
  auto sealed =
      ReadFileToString(server_.keys_dir() + "/signing-key-retired-v1.json");
  ASSERT_TRUE(sealed.ok());
  auto retired = crypto::OpenSigningKey(*sealed, "test passphrase");
  ASSERT_TRUE(retired.ok()) << retired.status();
  crypto::Statement facts{{{"fake.stl", crypto::Sha256::HexOf("fake")}},
                          crypto::kCertificatePredicateType,
                          {{"piece_id", "pc_neverexisted"}, {"version", 1}}};
  crypto::Bundle forged{*crypto::SignCertificate(
                            facts, absl::FromUnixSeconds(1750000000), *retired),
                        {},
                        std::nullopt,
                        std::nullopt};
  const std::string entry = crypto::CertificateLogEntry(
      forged.certificate.payload, "pc_neverexisted", 1);
  forged.log =
      crypto::LogProof{0,
                       1,
                       {},
                       crypto::SignCheckpoint(
                           {"registry.test/loupe", 1, crypto::LeafHash(entry)},
                           "registry.test/loupe", *retired)};
  forged.roots =
      crypto::ParseBundle(*ReadFileToString(dir + "/old.json"))->roots;
  std::ofstream(dir + "/forged.json") << crypto::EncodeBundle(forged);
  std::ofstream(dir + "/fake.stl") << "fake";
  for (const std::string& root : {root_, *v2}) {
    r = RunCli("verify " + dir + "/forged.json --root " + root + " " + dir +
               "/fake.stl");
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("no longer trusted"), std::string::npos)
        << r.output;
  }
}

// Issue 15 item 4: `loupe` speaks TLS unless told otherwise; against this
// plain-text server it fails rather than falling back, and --plaintext
// (or LOUPE_PLAINTEXT=1) is the explicit way.
TEST_F(CertificateTest, TheCliSpeaksTlsUnlessToldOtherwise) {
  // Without the test environment's LOUPE_PLAINTEXT (tests/test_server.cc).
  auto run = [&](const std::string& flags) {
    return RunCommand("env -u LOUPE_PLAINTEXT -u LOUPE_CA " +
                      std::string(LOUPE_CLI_BIN) + flags + " --server " +
                      server_.target() + " log checkpoint");
  };
  auto r = run("");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("UNAVAILABLE"), std::string::npos) << r.output;
  r = run(" --plaintext");
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST_F(CertificateTest, VersionsChainToTheirParentsCertificates) {
  auto first = Issue(*aurum_, 0);
  ASSERT_TRUE(first.ok());
  auto resize = VersionRequest(piece_.id(), 1, v1::VERSION_REASON_RESIZE);
  *resize.mutable_version()->add_assets() = CadAsset(cad_);
  ASSERT_TRUE(aurum_->AddVersion(resize).ok());
  auto second = Issue(*aurum_, 0);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->version(), 2u);
  const auto predicate = Predicate(*second);
  EXPECT_EQ(predicate["parent_certificate"], first->id());
  EXPECT_EQ(predicate["twin"]["reason"], "VERSION_REASON_RESIZE");
  EXPECT_TRUE(Predicate(*first)["parent_certificate"].is_null());
  grpc::ClientContext ctx;
  aurum_->Prepare(&ctx, 30);
  v1::ListCertificatesRequest list;
  list.set_piece_id(piece_.id());
  v1::ListCertificatesResponse all;
  ASSERT_TRUE(aurum_->stub().ListCertificates(&ctx, list, &all).ok());
  ASSERT_EQ(all.certificates_size(), 2);
  EXPECT_EQ(all.certificates(1).id(), second->id());
}

TEST_F(CertificateTest, OnlyTheStudioIssuesAndIdsAreChecked) {
  EXPECT_STATUS(Issue(*server_.Client(kBelliniToken), 0).status(),
                kPermissionDenied, "belongs to studio aurum");
  EXPECT_STATUS(Issue(*server_.Client(kInsurerToken), 0).status(),
                kPermissionDenied, "may not change it");
  for (const auto& [id, code] :
       std::vector<std::pair<std::string, grpc::StatusCode>>{
           {"ct_nothex", grpc::StatusCode::INVALID_ARGUMENT},
           {"ct_" + std::string(32, 'a'), grpc::StatusCode::NOT_FOUND}}) {
    grpc::ClientContext ctx;
    aurum_->Prepare(&ctx, 30);
    v1::GetCertificateRequest get;
    get.set_certificate_id(id);
    v1::Certificate got;
    auto s = aurum_->stub().GetCertificate(&ctx, get, &got);
    EXPECT_EQ(s.error_code(), code) << id;
    EXPECT_NE(s.error_message().find("certificate_id"), std::string::npos);
  }
}

TEST(CertificateServerTest, WithoutKeysIssuingIsAFailedPrecondition) {
  TestServer server;
  ASSERT_OK(server.Start());
  auto aurum = server.Client(kAurumToken);
  auto piece = aurum->CreatePiece(PieceRequest("aurum", "A-NOKEY"));
  ASSERT_TRUE(piece.ok());
  grpc::ClientContext ctx;
  aurum->Prepare(&ctx, 30);
  v1::IssueCertificateRequest request;
  request.set_piece_id(piece->id());
  v1::Certificate response;
  auto s = aurum->stub().IssueCertificate(&ctx, request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("signing"), std::string::npos);
}

TEST(CertificateServerTest, AWrongPassphraseStopsStartWithAClearError) {
  TestServer server;
  server.EnableSigning("not the passphrase");
  auto s = server.Start();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("signing.key_file"), std::string::npos) << s;
}

}  // namespace
}  // namespace loupe::testing
