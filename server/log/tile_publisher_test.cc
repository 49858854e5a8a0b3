// The static tile publisher over a real store and signer, into a
// directory: the C2SP layout and bytes, bounded rounds, resuming from the
// checkpoint in the sink after a restart, and only the lease holder
// writing. Readers of the published copy are tested in client/ and
// tests/static_log_test.cc.
#include "server/log/tile_publisher.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "base/file.h"
#include "crypto/key_file.h"
#include "crypto/trust_root.h"
#include "server/log/transparency_log.h"
#include "server/storage/memory/memory_fixture_for_tests.h"

namespace loupe::server {
namespace {

namespace fs = std::filesystem;

class TilePublisherTest : public storage::MemoryStoreFixture {
 protected:
  void SetUp() override {
    MemoryStoreFixture::SetUp();
    auto root_key = *crypto::SigningKey::Generate();
    auto key = *crypto::SigningKey::Generate();
    const absl::Time since = absl::FromUnixSeconds(1700000000);
    crypto::TrustRoot root{
        "registry.test/loupe",
        1,
        1,
        {{root_key.public_key(), {crypto::kRoleRoot}, since, std::nullopt},
         {key.public_key(),
          {crypto::kRoleCertificate, crypto::kRoleCheckpoint},
          since,
          std::nullopt}}};
    const std::string keys = dir_.string() + "-keys";
    fs::create_directories(keys);
    std::ofstream(keys + "/root.json")
        << crypto::EnvelopeToJson(*crypto::SignRoot(root, {&root_key}));
    std::ofstream(keys + "/key.json") << *crypto::SealSigningKey(
        key, "test passphrase", crypto::kKdfInteractive);
    std::ofstream(keys + "/passphrase") << "test passphrase\n";
    v1::SigningConfig config;
    config.set_key_file(keys + "/key.json");
    config.set_passphrase_file(keys + "/passphrase");
    config.add_root_files(keys + "/root.json");
    auto signer = CertificateSigner::Load(config);
    ASSERT_TRUE(signer.ok()) << signer.status();
    signer_ = *std::move(signer);
    log_ = std::make_unique<TransparencyLog>(store_.get(), signer_.get());
    out_ = dir_ / "static";
    sink_ = *NewDirectorySink(out_.string());
  }
  void TearDown() override {
    log_.reset();
    fs::remove_all(dir_.string() + "-keys");
    MemoryStoreFixture::TearDown();
  }

  // Grows the log to at least `size` entries and publishes a checkpoint.
  uint64_t GrowTo(uint64_t size) {
    while (*store_->LogSize() < size) {
      v1::Piece p;
      p.set_id("pc_" + std::to_string(next_));
      p.set_studio_id("aurum");
      p.set_studio_reference("ref-" + std::to_string(next_++));
      EXPECT_TRUE(ledger_->CreatePieceAndWait(p).ok());
      v1::TwinVersion v;
      v.set_piece_id(p.id());
      EXPECT_TRUE(ledger_->AppendVersionAndWait(v, "aurum").ok());
    }
    EXPECT_TRUE(log_->Publish().ok());
    return *store_->LogSize();
  }

  std::unique_ptr<TilePublisher> Publisher(size_t per_round = 256,
                                           std::function<bool()> lead = {}) {
    TilePublisher::Options options;
    options.max_objects_per_round = per_round;
    return std::make_unique<TilePublisher>(
        store_.get(), [this] { return log_->Checkpoint(); }, sink_.get(),
        options, std::move(lead));
  }

  std::string Object(const std::string& key) {
    auto text = ReadFileToString((out_ / key).string());
    return text.ok() ? *text : "(missing " + key + ")";
  }

  std::string Hashes(int level, uint64_t first, uint64_t count) {
    std::string out;
    auto hashes = store_->LogNodeHashes(level, first, count);
    EXPECT_TRUE(hashes.ok()) << hashes.status();
    if (!hashes.ok()) return "";
    for (const auto& h : *hashes) {
      out.append(h.begin(), h.end());
    }
    return out;
  }

  std::unique_ptr<CertificateSigner> signer_;
  std::unique_ptr<TransparencyLog> log_;
  fs::path out_;
  std::unique_ptr<ObjectSink> sink_;
  int next_ = 0;
};

TEST_F(TilePublisherTest, WritesTheC2spLayoutWithTheCheckpointLast) {
  const uint64_t size = GrowTo(300);
  auto publisher = Publisher();
  auto done = publisher->Round();
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_TRUE(*done);
  EXPECT_EQ(publisher->published_size(), size);
  EXPECT_EQ(Object("checkpoint"), log_->Checkpoint()->note());
  EXPECT_EQ(Object("tile/0/000"), Hashes(0, 0, 256));
  const std::string w0 = std::to_string(size - 256);
  EXPECT_EQ(Object("tile/0/001.p/" + w0), Hashes(0, 256, size - 256));
  // Level 1 holds the root of every 256 leaves: one complete here.
  EXPECT_EQ(Object("tile/1/000.p/1"), Hashes(8, 0, 1));
  const std::string bundle = Object("tile/entries/000");
  auto first = store_->LogEntries(0, 1);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(bundle.substr(2, (*first)[0].size()), (*first)[0]);
  EXPECT_TRUE(fs::exists(out_ / ("tile/entries/001.p/" + w0)));
  EXPECT_NE(Object("trust-root.json").find("\"roots\""), std::string::npos);
  // Nothing new: nothing written.
  const uint64_t objects = publisher->objects_written();
  ASSERT_TRUE(publisher->Round().ok());
  EXPECT_EQ(publisher->objects_written(), objects);
}

TEST_F(TilePublisherTest, BoundedRoundsPublishTheCheckpointOnlyWhenComplete) {
  GrowTo(600);  // Two full chunks: 2 x (bundle + tile) before partials.
  auto publisher = Publisher(/*per_round=*/2);
  auto done = publisher->Round();
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_FALSE(*done);
  EXPECT_EQ(publisher->objects_written(), 2u);
  EXPECT_FALSE(fs::exists(out_ / "checkpoint"));
  EXPECT_EQ(publisher->published_size(), 0u);
  // The second chunk, then the partial tiles and the checkpoint.
  done = publisher->Round();
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_TRUE(*done);
  EXPECT_EQ(Object("checkpoint"), log_->Checkpoint()->note());
}

TEST_F(TilePublisherTest, ResumesFromTheCheckpointInTheSinkAfterARestart) {
  GrowTo(300);
  ASSERT_TRUE(*Publisher()->Round());
  // A full tile below the published size is not written again: remove
  // it and see that the restarted publisher does not bring it back.
  fs::remove(out_ / "tile/0/000");
  const uint64_t size = GrowTo(600);
  auto restarted = Publisher();
  auto done = restarted->Round();
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_TRUE(*done);
  EXPECT_FALSE(fs::exists(out_ / "tile/0/000"));
  EXPECT_EQ(Object("tile/0/001"), Hashes(0, 256, 256));
  EXPECT_EQ(Object("tile/1/000.p/2"), Hashes(8, 0, 2));
  EXPECT_EQ(restarted->published_size(), size);
}

TEST_F(TilePublisherTest, OnlyTheLeaseHolderWrites) {
  GrowTo(10);
  bool lead = false;
  auto publisher = Publisher(256, [&] { return lead; });
  ASSERT_TRUE(publisher->Round().ok());
  EXPECT_EQ(publisher->objects_written(), 0u);
  lead = true;
  ASSERT_TRUE(*publisher->Round());
  EXPECT_EQ(Object("checkpoint"), log_->Checkpoint()->note());
}

TEST_F(TilePublisherTest, TheThreadPublishesAsTheLogGrows) {
  GrowTo(5);
  TilePublisher::Options options;
  options.interval = std::chrono::milliseconds(10);
  TilePublisher publisher(
      store_.get(), [this] { return log_->Checkpoint(); }, sink_.get(),
      options);
  publisher.Start();
  const uint64_t size = GrowTo(40);
  for (int i = 0; i < 500 && publisher.published_size() < size; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  publisher.Stop();
  EXPECT_EQ(publisher.published_size(), size);
  EXPECT_EQ(Object("checkpoint"), log_->Checkpoint()->note());
}

// A destination that fails every write after the first `ok` ones, until
// healed; it keeps what it accepted.
class FlakySink : public ObjectSink {
 public:
  absl::Status Put(std::string_view key, std::string_view bytes,
                   const ObjectCaching&) override {
    if (ok_ == 0) return absl::UnavailableError("destination down");
    if (ok_ > 0) --ok_;
    objects_[std::string(key)] = std::string(bytes);
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> Get(std::string_view key) override {
    auto it = objects_.find(std::string(key));
    if (it == objects_.end()) return absl::NotFoundError(std::string(key));
    return it->second;
  }
  std::string Describe() const override { return "flaky"; }
  int ok_ = -1;  // Writes left before it fails; -1: never fails.
  std::map<std::string, std::string> objects_;
};

TEST_F(TilePublisherTest, AFailingDestinationNeverShowsAnIncompleteCheckpoint) {
  GrowTo(600);
  FlakySink flaky;
  flaky.ok_ = 3;  // Fails partway through the tiles.
  TilePublisher publisher(store_.get(), [this] { return log_->Checkpoint(); },
                          &flaky, {});
  auto done = publisher.Round();
  EXPECT_TRUE(absl::IsUnavailable(done.status())) << done.status();
  EXPECT_NE(done.status().message().find("tile/"), std::string::npos);
  EXPECT_EQ(flaky.objects_.count("checkpoint"), 0u);
  EXPECT_EQ(publisher.published_size(), 0u);
  flaky.ok_ = -1;  // Back: the next round finishes the job.
  done = publisher.Round();
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_TRUE(*done);
  EXPECT_EQ(flaky.objects_["checkpoint"], log_->Checkpoint()->note());
  EXPECT_EQ(flaky.objects_["tile/0/001"], Hashes(0, 256, 256));
}

}  // namespace
}  // namespace loupe::server
