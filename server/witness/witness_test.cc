#include "server/witness/witness.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>

#include "crypto/checkpoint.h"
#include "crypto/cosignature.h"
#include "crypto/random.h"
#include "server/witness/witness_command.h"

namespace loupe::witness {
namespace {

namespace fs = std::filesystem;
using server::http::Request;
using server::http::Response;

constexpr char kOrigin[] = "registry.test/loupe";
constexpr char kName[] = "witness.test/w1";

class WitnessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::temp_directory_path() / ("witness_" + crypto::RandomId("")))
               .string();
    log_key_ =
        std::make_unique<crypto::SigningKey>(*crypto::SigningKey::Generate());
    for (int i = 0; i < 40; ++i) {
      leaves_.push_back(crypto::LeafHash("entry " + std::to_string(i)));
    }
    Restart();
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A new witness process over the same state directory and key.
  void Restart() {
    if (!witness_key_) {
      witness_key_ =
          std::make_unique<crypto::SigningKey>(*crypto::SigningKey::Generate());
    }
    uint8_t seed[crypto::kSeedSize];
    witness_key_->ExportSeed(seed);
    auto key = crypto::SigningKey::FromSeed(
        std::string_view(reinterpret_cast<char*>(seed), sizeof seed));
    Witness::Options options;
    options.name = kName;
    options.logs = {{kOrigin, {log_key_->public_key()}}};
    options.state = *WitnessState::Open(dir_);
    options.clock = [] { return absl::FromUnixSeconds(1'800'000'000); };
    witness_ = *Witness::Create(std::move(options), *std::move(key));
  }

  crypto::Checkpoint Tree(uint64_t size) {
    return {kOrigin, size, crypto::SubtreeRoot(leaves_, 0, size)};
  }
  std::string Note(const crypto::Checkpoint& c) {
    return crypto::SignCheckpoint(c, kOrigin, *log_key_);
  }
  Response Submit(uint64_t old_size, const crypto::Checkpoint& next,
                  std::vector<crypto::Hash> proof) {
    Request r;
    r.method = "POST";
    r.target = "/add-checkpoint";
    r.body =
        crypto::EncodeAddCheckpoint({old_size, std::move(proof), Note(next)});
    return witness_->Handle(r);
  }
  std::vector<crypto::Hash> Proof(uint64_t from, uint64_t to) {
    if (from == 0 || from == to) return {};
    return *crypto::ConsistencyProof(leaves_, from, to);
  }
  Response Grow(uint64_t from, uint64_t to) {
    return Submit(from, Tree(to), Proof(from, to));
  }
  // The cosignature in a 200 answer verifies on the checkpoint.
  void ExpectCosigned(const Response& r, const crypto::Checkpoint& c) {
    ASSERT_EQ(r.status, 200) << r.body;
    auto vouched = crypto::VerifyCosignatures(
        Note(c) + r.body, {{kName, witness_key_->public_key()}});
    ASSERT_TRUE(vouched.ok()) << vouched.status();
    ASSERT_EQ(vouched->size(), 1u);
    EXPECT_EQ((*vouched)[0].time, absl::FromUnixSeconds(1'800'000'000));
  }

  std::string dir_;
  std::unique_ptr<crypto::SigningKey> log_key_, witness_key_;
  std::vector<crypto::Hash> leaves_;
  std::unique_ptr<Witness> witness_;
};

TEST_F(WitnessTest, CosignsAConsistentHistoryAndRemembersItAcrossRestarts) {
  ExpectCosigned(Grow(0, 5), Tree(5));
  ExpectCosigned(Grow(5, 17), Tree(17));
  ExpectCosigned(Grow(17, 17), Tree(17));  // The same tree again is fine.
  Restart();
  // The log does not know the witness's size: 409 tells it.
  Response r = Grow(0, 20);
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.body, "17\n");
  EXPECT_EQ(r.content_type, "text/x.tlog.size");
  ExpectCosigned(Grow(17, 20), Tree(20));
  // Monitors read the newest cosigned checkpoint, with both signatures.
  Request get;
  get.method = "GET";
  get.target = "/" + WitnessState::OriginHash(kOrigin) + "/checkpoint";
  Response m = witness_->Handle(get);
  ASSERT_EQ(m.status, 200) << m.body;
  EXPECT_TRUE(
      crypto::VerifyCheckpoint(m.body, kOrigin, log_key_->public_key()).ok());
  EXPECT_EQ(
      crypto::VerifyCheckpoint(m.body, kOrigin, log_key_->public_key())->size,
      20u);
  EXPECT_EQ(
      crypto::VerifyCosignatures(m.body, {{kName, witness_key_->public_key()}})
          ->size(),
      1u);
}

// Issue 15: a log that rewrites its history gets no cosignature.
TEST_F(WitnessTest, RefusesForksWith422AndKeepsItsState) {
  ExpectCosigned(Grow(0, 16), Tree(16));
  // Same size, another root.
  crypto::Checkpoint forked = Tree(16);
  forked.root = crypto::LeafHash("rewritten");
  EXPECT_EQ(Submit(16, forked, {}).status, 422);
  // A bigger tree whose proof does not lead from the cosigned one: the
  // history below 16 was rewritten.
  std::vector<crypto::Hash> other = leaves_;
  other[3] = crypto::LeafHash("rewritten entry");
  crypto::Checkpoint bigger{kOrigin, 24, crypto::SubtreeRoot(other, 0, 24)};
  Response r = Submit(16, bigger, *crypto::ConsistencyProof(other, 16, 24));
  EXPECT_EQ(r.status, 422);
  EXPECT_NE(r.body.find("fork"), std::string::npos) << r.body;
  // A damaged proof of the true tree is refused the same way.
  auto proof = Proof(16, 24);
  proof[0][0] ^= 1;
  EXPECT_EQ(Submit(16, Tree(24), proof).status, 422);
  // Neither moved the witness: the true history still extends.
  ExpectCosigned(Grow(16, 24), Tree(24));
}

TEST_F(WitnessTest, RefusalsFollowTheProtocolsStatusCodes) {
  // Unknown origin: 404.
  crypto::Checkpoint foreign{"other.test/log", 3,
                             crypto::SubtreeRoot(leaves_, 0, 3)};
  Request r;
  r.method = "POST";
  r.target = "/add-checkpoint";
  r.body = crypto::EncodeAddCheckpoint(
      {0, {}, crypto::SignCheckpoint(foreign, "other.test/log", *log_key_)});
  EXPECT_EQ(witness_->Handle(r).status, 404);
  // Signed by a key the witness does not trust: 403.
  auto stranger = crypto::SigningKey::Generate();
  r.body = crypto::EncodeAddCheckpoint(
      {0, {}, crypto::SignCheckpoint(Tree(3), kOrigin, *stranger)});
  EXPECT_EQ(witness_->Handle(r).status, 403);
  // A line with the trusted key's name and id that does not verify: 403,
  // even next to a good one.
  std::string note = Note(Tree(3));
  std::string bad = note.substr(note.find("\n\n") + 2);
  bad[bad.size() - 5] = bad[bad.size() - 5] == 'A' ? 'B' : 'A';
  r.body = crypto::EncodeAddCheckpoint({0, {}, note + bad});
  EXPECT_EQ(witness_->Handle(r).status, 403);
  // Old size beyond the checkpoint, or a malformed body: 400.
  EXPECT_EQ(Submit(4, Tree(3), {}).status, 400);
  r.body = "old 0\n\nnot a checkpoint\n";
  EXPECT_EQ(witness_->Handle(r).status, 400);
  r.body = "old x\n\n" + note;
  EXPECT_EQ(witness_->Handle(r).status, 400);
  // A proof from size 0, and a size-0 tree with a non-empty root: 422.
  EXPECT_EQ(Submit(0, Tree(3), Proof(1, 3)).status, 422);
  crypto::Checkpoint empty{kOrigin, 0, crypto::LeafHash("x")};
  EXPECT_EQ(Submit(0, empty, {}).status, 422);
  ExpectCosigned(Submit(0, {kOrigin, 0, crypto::EmptyTreeHash()}, {}),
                 {kOrigin, 0, crypto::EmptyTreeHash()});
  // Other methods and paths.
  r.method = "GET";
  EXPECT_EQ(witness_->Handle(r).status, 405);
  r.target = "/" + std::string(64, 'a') + "/checkpoint";
  EXPECT_EQ(witness_->Handle(r).status, 404);
  r.target = "/healthz";
  EXPECT_EQ(witness_->Handle(r).status, 200);
}

// Check-and-save is atomic: of concurrent submissions from one size, one
// wins, and the state never goes back (the C2SP race).
TEST_F(WitnessTest, ConcurrentSubmissionsNeverRollBack) {
  ExpectCosigned(Grow(0, 8), Tree(8));
  std::vector<int> status(16);
  std::vector<std::thread> threads;
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&, i] { status[i] = Grow(8, 9 + i).status; });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(std::count(status.begin(), status.end(), 200), 1);
  EXPECT_EQ(std::count(status.begin(), status.end(), 409), 15);
  Response r = Grow(0, 30);
  ASSERT_EQ(r.status, 409);
  const uint64_t size = std::stoull(r.body);
  EXPECT_GE(size, 9u);
  ExpectCosigned(Grow(size, 30), Tree(30));
}

TEST_F(WitnessTest, DamagedStateIsNotTakenForNoState) {
  ExpectCosigned(Grow(0, 5), Tree(5));
  std::ofstream(dir_ + "/" + WitnessState::OriginHash(kOrigin), std::ios::trunc)
      << "garbage\n";
  Restart();
  // Treating it as empty would cosign any history: refuse instead.
  EXPECT_EQ(Grow(0, 6).status, 500);
  EXPECT_EQ(Grow(5, 6).status, 500);
}

TEST(WitnessConfigTest, FlagsAndFileAreCheckedNamingTheOption) {
  const std::string a(64, 'a'), b(64, 'b');
  WitnessFlags f;
  auto expect = [&](std::string_view field) {
    auto s = WitnessConfig(f).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << field;
    EXPECT_EQ(std::string(s.message()).rfind(field, 0), 0u) << s;
  };
  expect("name:");
  f.name = "witness.test/w1";
  expect("key_file:");
  f.key_file = "key.json";
  expect("state_dir:");
  f.state_dir = "state";
  expect("logs:");
  f.logs = {"registry.test/loupe"};
  expect("--log registry.test/loupe");
  f.logs = {"registry.test/loupe=zz"};
  expect("logs[0] (registry.test/loupe).public_keys");
  f.logs = {"registry.test/loupe=" + a, "registry.test/loupe=" + b};
  expect("http.listen_address");
  f.listen = "127.0.0.1:0";
  expect("tls:");
  f.allow_plaintext = true;
  auto config = WitnessConfig(f);
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->logs_size(), 1);  // Two keys of one log.
  EXPECT_EQ(config->logs(0).public_keys_size(), 2);
  // A file, with flags overriding it.
  const std::string path = ::testing::TempDir() + "/witness.conf";
  std::ofstream(path) << "name: 'witness.test/file' key_file: 'k' "
                         "state_dir: 's' allow_plaintext: true "
                         "http { listen_address: '127.0.0.1:0' } "
                         "logs { origin: 'registry.test/loupe' public_keys: '"
                      << a << "' }\n";
  WitnessFlags from_file;
  from_file.config_path = path;
  from_file.name = "witness.test/flag";
  config = WitnessConfig(from_file);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->name(), "witness.test/flag");
  EXPECT_EQ(config->http().max_body_bytes(), 16u << 10);
  std::ofstream(path, std::ios::trunc) << "name: 'x' bogus: 1\n";
  EXPECT_EQ(WitnessConfig(from_file).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace loupe::witness
