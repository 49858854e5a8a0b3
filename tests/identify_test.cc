// Identification (issue 19): generated rings registered on the real
// server, then simulated scans identified through the RPC and the CLI:
// a distinct piece, a stolen one, a group cast from one CAD file, a
// resized piece, a piece never registered; the signed statement verified
// offline; hostile scans refused; the signature index after a restart and
// after SIGKILL.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/file.h"
#include "crypto/dsse.h"
#include "crypto/trust_root.h"
#include "tests/http_util.h"
#include "tests/test_server.h"
#include "tests/test_util.h"
#include "tools/gen/piece_gen.h"

namespace loupe::testing {
namespace {

CliResult RunCli(const std::string& args) {
  return RunCommand(std::string(LOUPE_CLI_BIN) + " " + args);
}

std::string Scan(uint64_t piece_seed, uint64_t scan_seed,
                 bool resized = false) {
  gen::PieceSpec spec = gen::RandomPiece(piece_seed);
  if (resized) spec = gen::Resized(spec);
  gen::ScanOptions o;
  o.seed = scan_seed;
  o.target_points = 30000;
  return gen::StlBinary(gen::SimulateScan(spec, o));
}

class IdentifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_path_ = server_.EnableSigning();
    ASSERT_OK(server_.Start());
    aurum_ = server_.Client(kAurumToken);
  }

  v1::AssetRef Upload(const std::string& stl, const std::string& name) {
    v1::UploadAssetHeader header = HeaderFor(stl);
    header.set_file_name(name);
    EXPECT_TRUE(aurum_->UploadBytes(header, stl).ok());
    v1::AssetRef a = CadAsset(stl);
    a.set_file_name(name);
    a.set_media_type("model/stl");
    return a;
  }

  // Registers a piece whose first version is `stl`; returns its id.
  std::string Register(const std::string& reference, const std::string& stl) {
    auto request = PieceRequest("aurum", reference);
    request.mutable_first_version()->set_reason(v1::VERSION_REASON_ORIGINAL);
    *request.mutable_first_version()->add_assets() =
        Upload(stl, reference + ".stl");
    auto piece = aurum_->CreatePiece(request);
    EXPECT_TRUE(piece.ok()) << piece.status();
    return piece.ok() ? piece->id() : "";
  }

  std::string RegisterSeed(uint64_t seed) {
    return Register("GEN-" + std::to_string(seed),
                    gen::StlBinary(gen::BuildPiece(gen::RandomPiece(seed))));
  }

  absl::StatusOr<v1::Identification> Identify(const std::string& scan) {
    v1::IdentifyPieceHeader header;
    header.set_file_name("scan.stl");
    return server_.Client(kBenchToken)->IdentifyPiece(header, scan);
  }

  std::string WriteTemp(const std::string& name, const std::string& bytes) {
    const std::string path = server_.keys_dir() + "/" + name;
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }

  std::string Cli(const std::string& args) {
    return "--server " + server_.target() + " --token " + kBenchToken + " " +
           args;
  }

  TestServer server_;
  std::string root_path_;
  std::unique_ptr<client::RegistryClient> aurum_;
};

TEST_F(IdentifyTest, AnswersWithEvidenceThroughRpcAndCli) {
  std::vector<std::string> ids;
  for (uint64_t seed = 1; seed <= 6; ++seed) ids.push_back(RegisterSeed(seed));
  // Three pieces cast from one CAD file.
  const std::string cad =
      gen::StlBinary(gen::BuildPiece(gen::RandomPiece(100)));
  std::vector<std::string> group;
  for (int i = 0; i < 3; ++i) {
    group.push_back(Register("CAST-" + std::to_string(i), cad));
  }
  // A piece resized after it was registered: version 2 is one size up.
  const std::string resized_id = RegisterSeed(200);
  auto add = VersionRequest(resized_id, 1, v1::VERSION_REASON_RESIZE);
  *add.mutable_version()->add_assets() = Upload(
      gen::StlBinary(gen::BuildPiece(gen::Resized(gen::RandomPiece(200)))),
      "resized.stl");
  ASSERT_TRUE(aurum_->AddVersion(add).ok());

  // A distinct piece: IDENTIFIED, with its evidence.
  auto r = Identify(Scan(3, 33));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->verdict(), "IDENTIFIED") << r->DebugString();
  ASSERT_EQ(r->matches_size(), 1);
  EXPECT_EQ(r->matches(0).piece_id(), ids[2]);
  EXPECT_EQ(r->matches(0).version(), 1u);
  EXPECT_GT(r->matches(0).within_tolerance(), 0.8);
  EXPECT_GT(r->margin(), 0.1);
  EXPECT_EQ(r->alerts_size(), 0);
  // Its statement verifies offline with a certificate key of the root.
  auto root = crypto::VerifyInitialRoot(
      *crypto::EnvelopeFromJson(*ReadFileToString(root_path_)));
  auto envelope = crypto::EnvelopeFromJson(r->statement_json());
  ASSERT_TRUE(envelope.ok());
  auto verified = crypto::VerifyEnvelope(
      *envelope, crypto::KeysWithRole(*root, crypto::kRoleCertificate));
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_NE(verified->payload.find("\"verdict\":\"IDENTIFIED\""),
            std::string::npos);
  EXPECT_NE(verified->payload.find(ids[2]), std::string::npos);
  EXPECT_NE(verified->payload.find("\"identified_by\":\"bench\""),
            std::string::npos);

  // Cast from one CAD file: all three, never one picked.
  r = Identify(Scan(100, 7));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->verdict(), "CONSISTENT_WITH_SEVERAL") << r->DebugString();
  std::set<std::string> named;
  for (const auto& m : r->matches()) named.insert(m.piece_id());
  EXPECT_EQ(named, std::set<std::string>(group.begin(), group.end()));

  // Resized: the piece, at the version it matches best (2).
  r = Identify(Scan(200, 8, /*resized=*/true));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->verdict(), "IDENTIFIED") << r->DebugString();
  ASSERT_GE(r->matches_size(), 1);
  EXPECT_EQ(r->matches(0).piece_id(), resized_id);
  EXPECT_EQ(r->matches(0).version(), 2u);

  // Stolen: said first, loudly, in the RPC and the CLI.
  auto insurer = server_.Client(kInsurerToken);
  v1::ChangeStatusRequest stolen;
  stolen.set_piece_id(ids[4]);
  stolen.set_action(v1::STATUS_ACTION_REPORT_STOLEN);
  stolen.set_reason("claim 2026-117");
  ASSERT_TRUE(insurer
                  ->Call<v1::Piece>(stolen,
                                    [&](auto* ctx, auto& rq, auto* rs) {
                                      return insurer->stub().ChangeStatus(
                                          ctx, rq, rs);
                                    })
                  .ok());
  const std::string scan5 = WriteTemp("scan5.stl", Scan(5, 55));
  r = Identify(*ReadFileToString(scan5));
  ASSERT_TRUE(r.ok());
  ASSERT_GE(r->alerts_size(), 1) << r->DebugString();
  EXPECT_EQ(r->alerts(0), "STOLEN: piece " + ids[4] + " is reported stolen");
  EXPECT_EQ(r->matches(0).status(), v1::PIECE_STATUS_STOLEN);
  CliResult cli = RunCli(Cli("identify " + scan5));
  EXPECT_EQ(cli.exit_code, 0) << cli.output;
  EXPECT_EQ(cli.output.rfind("!!! STOLEN: piece " + ids[4], 0), 0u)
      << cli.output;
  EXPECT_NE(cli.output.find("IDENTIFIED"), std::string::npos);
  cli = RunCli(Cli("identify --json --tolerance 0.1 " + scan5));
  EXPECT_EQ(cli.exit_code, 0) << cli.output;
  EXPECT_NE(cli.output.find("\"verdict\":\"IDENTIFIED\""), std::string::npos)
      << cli.output;

  // Never registered: NO MATCH (CLI exit 1).
  const std::string stranger = WriteTemp("stranger.stl", Scan(9999, 1));
  r = Identify(*ReadFileToString(stranger));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->verdict(), "NO_MATCH") << r->DebugString();
  EXPECT_EQ(r->matches_size(), 0);
  cli = RunCli(Cli("identify " + stranger));
  EXPECT_EQ(cli.exit_code, 1) << cli.output;
  EXPECT_NE(cli.output.find("NO_MATCH"), std::string::npos) << cli.output;
}

TEST_F(IdentifyTest, HostileScansAreRefused) {
  RegisterSeed(1);
  const std::string scan = Scan(1, 2);
  // Malformed bytes, a mesh that is not a ring, no file name, no caller.
  EXPECT_STATUS(Identify(scan.substr(0, 300)).status(), kInvalidArgument,
                "file: scan.stl is not a readable mesh");
  const std::string tetra = gen::StlBinary(
      geometry::Mesh{{{0, 0, 0}, {10, 0, 0}, {0, 10, 0}, {0, 0, 10}},
                     {{0, 2, 1}, {0, 1, 3}, {0, 3, 2}, {1, 2, 3}}});
  EXPECT_STATUS(Identify(tetra).status(), kInvalidArgument, "not a ring");
  v1::IdentifyPieceHeader header;
  header.set_file_name("scan.3dm");
  EXPECT_STATUS(
      server_.Client(kBenchToken)->IdentifyPiece(header, scan).status(),
      kInvalidArgument, "file_name");
  header.set_file_name("scan.stl");
  header.set_tolerance_mm(50);
  EXPECT_STATUS(
      server_.Client(kBenchToken)->IdentifyPiece(header, scan).status(),
      kInvalidArgument, "tolerance_mm");
  header.set_tolerance_mm(0);
  EXPECT_FALSE(server_.Client("")->IdentifyPiece(header, scan).ok());
  // The server is still up and answers.
  EXPECT_TRUE(Identify(scan).ok());
}

TEST_F(IdentifyTest, IndexSurvivesRestartAndSigkill) {
  const std::string first = RegisterSeed(11);
  ASSERT_EQ(server_.Stop(), 0);
  ASSERT_OK(server_.Start());
  aurum_ = server_.Client(kAurumToken);
  // Recorded just before the crash: acknowledged, so durable.
  const std::string second = RegisterSeed(12);
  server_.Kill();
  ASSERT_OK(server_.Start());
  aurum_ = server_.Client(kAurumToken);
  const std::vector<std::pair<uint64_t, std::string>> pieces = {{11, first},
                                                                {12, second}};
  for (const auto& [seed, id] : pieces) {
    auto r = Identify(Scan(seed, seed + 1));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->verdict(), "IDENTIFIED") << seed;
    ASSERT_GE(r->matches_size(), 1);
    EXPECT_EQ(r->matches(0).piece_id(), id);
  }
}

}  // namespace
}  // namespace loupe::testing

namespace loupe::testing {
namespace {

// Sends a POST's head (no body) and keeps the connection open: the fd.
int SendHead(int port, const std::string& head) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      send(fd, head.data(), head.size(), MSG_NOSIGNAL) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

std::string IdentifyHead(const std::string& query, uint64_t size,
                         const std::string& token) {
  return "POST /api/v1/identify?" + query +
         " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" +
         (token.empty() ? "" : "Authorization: Bearer " + token + "\r\n") +
         "Content-Length: " + std::to_string(size) + "\r\n\r\n";
}

// The form's API (POST /api/v1/identify, the page at /identify): a scan
// with a token is identified like the RPC's; callers without one, bad
// headers and callers beyond the slots are refused from the request's
// head, before a byte of their scan is read (a flood of large bodies
// costs no memory); a slot comes back when its connection ends.
TEST_F(IdentifyTest, TheHttpFormIdentifiesForTokensAndRefusesOthersEarly) {
  const std::string id = RegisterSeed(4);
  const std::string scan = Scan(4, 44);
  const int port = server_.http_port();
  HttpReply r = ParseHttpReply(
      HttpExchange(port,
                   IdentifyHead("file_name=scan.stl&tolerance_mm=0.1",
                                scan.size(), kBenchToken) +
                       scan,
                   0, SIZE_MAX, 60));
  ASSERT_EQ(r.status, 200) << r.head << r.body;
  EXPECT_NE(r.body.find("\"verdict\":\"IDENTIFIED\""), std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find(id), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("statement_json"), std::string::npos);

  // Refused from the head alone (the body never comes; the answer does).
  const std::vector<std::pair<std::string, std::string>> refusals = {
      {IdentifyHead("file_name=scan.stl", 50 << 20, ""), "401"},
      {IdentifyHead("file_name=scan.stl", 50 << 20, "wrong-token"), "401"},
      {IdentifyHead("file_name=scan.3dm", 50 << 20, kBenchToken), "file_name"},
      {IdentifyHead("file_name=scan.stl&tolerance_mm=5", 50 << 20, kBenchToken),
       "tolerance_mm"},
      {IdentifyHead("file_name=scan.stl", 1ull << 40, kBenchToken),
       "size_bytes"},
  };
  for (const auto& [head, expected] : refusals) {
    const std::string raw = HttpExchange(port, head, 0, SIZE_MAX, 5);
    EXPECT_NE(raw.find(expected), std::string::npos) << head << raw;
    EXPECT_EQ(raw.find("HTTP/1.1 200"), std::string::npos) << raw;
  }

  // A client that sends the whole body before reading (a browser) still
  // reads the refusal: the server drops the body instead of closing on it.
  const CliResult early = RunCommand(
      std::string("/usr/bin/python3 ") + LOUPE_SOURCE_DIR +
      "/tests/interop/early_answer_client.py 127.0.0.1 " +
      std::to_string(port) + " '/api/v1/identify?file_name=scan.stl' " +
      "not-a-token " + std::to_string(8 << 20) + " 4");
  EXPECT_EQ(early.exit_code, 0) << early.output;
  EXPECT_NE(early.output.find("HTTP/1.1 401"), std::string::npos)
      << early.output;
  EXPECT_EQ(early.output.find("sending stopped"), std::string::npos)
      << early.output;

  // Two scans on their way hold both slots; a third is told to come back.
  const std::string big =
      IdentifyHead("file_name=scan.stl", 50 << 20, kBenchToken);
  const int first = SendHead(port, big), second = SendHead(port, big);
  ASSERT_GE(first, 0);
  ASSERT_GE(second, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const std::string busy = HttpExchange(port, big, 0, SIZE_MAX, 5);
  EXPECT_NE(busy.find("HTTP/1.1 503"), std::string::npos) << busy;
  EXPECT_NE(busy.find("try again"), std::string::npos) << busy;
  close(first);
  close(second);
  // Their slots return once the server sees the connections end.
  int status = 0;
  for (int i = 0; i < 50 && status != 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    status =
        ParseHttpReply(HttpExchange(port,
                                    IdentifyHead("file_name=scan.stl",
                                                 scan.size(), kBenchToken) +
                                        scan,
                                    0, SIZE_MAX, 60))
            .status;
  }
  EXPECT_EQ(status, 200);

  // The form: a page that loads only its own script.
  r = HttpGet(port, "/identify");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("<form id=\"identify\">"), std::string::npos);
  EXPECT_NE(r.head.find("script-src 'self'"), std::string::npos) << r.head;
  // The server is still up.
  EXPECT_TRUE(Identify(scan).ok());
}

}  // namespace
}  // namespace loupe::testing
