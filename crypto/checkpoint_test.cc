#include "crypto/checkpoint.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

namespace loupe::crypto {
namespace {

constexpr char kOrigin[] = "registry.example/loupe";

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_ = std::make_unique<SigningKey>(*SigningKey::Generate());
    checkpoint_ = {kOrigin, 1234567, LeafHash("root")};
    note_ = SignCheckpoint(checkpoint_, kOrigin, *key_);
  }
  std::unique_ptr<SigningKey> key_;
  Checkpoint checkpoint_;
  std::string note_;
};

TEST_F(CheckpointTest, FormatAndRoundTrip) {
  const std::string body = CheckpointBody(checkpoint_);
  EXPECT_EQ(body.substr(0, body.find('\n', body.find('\n') + 1) + 1),
            "registry.example/loupe\n1234567\n");
  EXPECT_EQ(note_.substr(0, body.size() + 1), body + "\n");
  EXPECT_NE(note_.find("\n\u2014 registry.example/loupe "), std::string::npos);
  auto verified = VerifyCheckpoint(note_, kOrigin, key_->public_key());
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->size, 1234567u);
  EXPECT_EQ(verified->root, checkpoint_.root);
}

TEST_F(CheckpointTest, TamperedOrForeignCheckpointsAreRefused) {
  std::string bigger = note_;
  bigger.replace(bigger.find("1234567"), 7, "1234568");
  EXPECT_EQ(
      VerifyCheckpoint(bigger, kOrigin, key_->public_key()).status().code(),
      absl::StatusCode::kUnauthenticated);
  auto other = SigningKey::Generate();
  EXPECT_FALSE(VerifyCheckpoint(SignCheckpoint(checkpoint_, kOrigin, *other),
                                kOrigin, key_->public_key())
                   .ok());
  // Issue 15 item 6: a checkpoint of another log, signed by our key under
  // our name, does not pass for ours.
  Checkpoint foreign = checkpoint_;
  foreign.origin = "other.example/log";
  auto s = VerifyCheckpoint(SignCheckpoint(foreign, kOrigin, *key_), kOrigin,
                            key_->public_key())
               .status();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(s.message().find("other.example/log"), std::string::npos) << s;
  // A signature by an unknown key is ignored, ours still counts.
  const std::string cosigned =
      note_ + SignCheckpoint(checkpoint_, "witness.example", *other)
                  .substr(CheckpointBody(checkpoint_).size() + 1);
  EXPECT_TRUE(VerifyCheckpoint(cosigned, kOrigin, key_->public_key()).ok());
  for (const std::string& bad :
       {std::string(""), std::string("no blank line\n"),
        std::string("origin\n01\nAAAA\n\n"), std::string("origin\nx\nAAAA\n\n"),
        note_.substr(0, note_.size() - 1)}) {
    EXPECT_EQ(
        VerifyCheckpoint(bad, kOrigin, key_->public_key()).status().code(),
        absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

// An independent verifier written from the C2SP specifications
// (tests/interop/verify_note.py, python3-nacl) accepts Loupe checkpoints.
TEST_F(CheckpointTest, IndependentVerifierAcceptsCheckpoints) {
  const std::string path = ::testing::TempDir() + "/loupe_checkpoint.note";
  std::ofstream(path, std::ios::binary) << note_;
  const std::string vkey = NoteVerifierKey(kOrigin, key_->public_key());
  const std::string command =
      std::string("/usr/bin/python3 ") + LOUPE_SOURCE_DIR +
      "/tests/interop/verify_note.py " + path + " '" + vkey + "' > /dev/null";
  EXPECT_EQ(std::system(command.c_str()), 0) << vkey;
  std::string bigger = note_;
  bigger.replace(bigger.find("1234567"), 7, "1234568");
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bigger;
  EXPECT_NE(std::system(command.c_str()), 0);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace loupe::crypto
