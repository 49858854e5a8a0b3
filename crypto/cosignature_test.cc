#include "crypto/cosignature.h"

#include <gtest/gtest.h>

#include "crypto/checkpoint.h"
#include "crypto/dsse.h"
#include "crypto/sha256.h"
#include "crypto/witness_policy.h"

namespace loupe::crypto {
namespace {

constexpr char kOrigin[] = "registry.example/loupe";
const absl::Time kWhen = absl::FromUnixSeconds(1'800'000'000);

class CosignatureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log_key_ = std::make_unique<SigningKey>(*SigningKey::Generate());
    for (int i = 0; i < 3; ++i) {
      keys_.push_back(std::make_unique<SigningKey>(*SigningKey::Generate()));
      witnesses_.push_back({StrName(i), keys_.back()->public_key()});
    }
    checkpoint_ = {kOrigin, 42, LeafHash("root")};
    note_ = SignCheckpoint(checkpoint_, kOrigin, *log_key_);
  }

  static std::string StrName(int i) {
    return "witness.example/w" + std::to_string(i);
  }
  std::string Cosign(int i, absl::Time when = kWhen) {
    auto line = CosignCheckpoint(CheckpointBody(checkpoint_), StrName(i),
                                 *keys_[i], when);
    EXPECT_TRUE(line.ok()) << line.status();
    return *line;
  }

  std::unique_ptr<SigningKey> log_key_;
  std::vector<std::unique_ptr<SigningKey>> keys_;
  std::vector<Cosigner> witnesses_;
  Checkpoint checkpoint_;
  std::string note_;
};

TEST_F(CosignatureTest, FormatFollowsTlogCosignatureV1) {
  const std::string line = Cosign(0);
  const std::string prefix = "\u2014 witness.example/w0 ";
  ASSERT_EQ(line.substr(0, prefix.size()), prefix);
  ASSERT_EQ(line.back(), '\n');
  auto blob =
      Base64Decode(line.substr(prefix.size(), line.size() - 1 - prefix.size()));
  ASSERT_TRUE(blob.ok());
  ASSERT_EQ(blob->size(), 4u + 8u + 64u);
  // Key id: SHA-256(name || "\n" || 0x04 || key)[:4], computed here by hand.
  std::string id_input = "witness.example/w0\n";
  id_input.push_back('\x04');
  id_input.append(reinterpret_cast<const char*>(keys_[0]->public_key().data()),
                  32);
  const Sha256Digest digest = Sha256::Of(id_input);
  EXPECT_EQ(blob->substr(0, 4),
            std::string(reinterpret_cast<const char*>(digest.data()), 4));
  // The timestamp, big-endian, then a signature over the v1 message.
  uint64_t t = 0;
  for (int i = 4; i < 12; ++i) t = (t << 8) | static_cast<uint8_t>((*blob)[i]);
  EXPECT_EQ(t, 1'800'000'000u);
  const std::string message =
      "cosignature/v1\ntime 1800000000\n" + CheckpointBody(checkpoint_);
  EXPECT_TRUE(VerifySignature(keys_[0]->public_key(), message,
                              std::string_view(*blob).substr(12)));
}

TEST_F(CosignatureTest, RoundTripNamesEachWitnessAndTime) {
  const std::string cosigned =
      note_ + Cosign(0) + Cosign(2, kWhen + absl::Seconds(5));
  auto vouched = VerifyCosignatures(cosigned, witnesses_);
  ASSERT_TRUE(vouched.ok()) << vouched.status();
  ASSERT_EQ(vouched->size(), 2u);
  EXPECT_EQ((*vouched)[0].name, "witness.example/w0");
  EXPECT_EQ((*vouched)[0].time, kWhen);
  EXPECT_EQ((*vouched)[1].name, "witness.example/w2");
  EXPECT_EQ((*vouched)[1].time, kWhen + absl::Seconds(5));
  EXPECT_EQ(CosignerNames(*vouched), "witness.example/w0, witness.example/w2");
  // The log's own line is not a cosignature, and the log still verifies.
  EXPECT_TRUE(VerifyCheckpoint(cosigned, kOrigin, log_key_->public_key()).ok());
  auto none = VerifyCosignatures(note_, witnesses_);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_F(CosignatureTest, WrongKeyWrongNameAndOtherCheckpointDoNotVouch) {
  // Signed by key 1 under the name of witness 0: its key id differs, so the
  // line is some other key's and is ignored (C2SP signed-note).
  auto foreign = CosignCheckpoint(CheckpointBody(checkpoint_), StrName(0),
                                  *keys_[1], kWhen);
  auto vouched = VerifyCosignatures(note_ + *foreign, witnesses_);
  ASSERT_TRUE(vouched.ok()) << vouched.status();
  EXPECT_TRUE(vouched->empty());
  // A cosignature of another tree, moved onto this one, fails: its name
  // and key id are known, so the note is refused whole.
  Checkpoint other = checkpoint_;
  other.size = 43;
  auto moved =
      CosignCheckpoint(CheckpointBody(other), StrName(0), *keys_[0], kWhen);
  auto s = VerifyCosignatures(note_ + *moved, witnesses_).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(s.message().find("witness.example/w0"), std::string::npos) << s;
  // An Ed25519 note signature (type 0x01) by the witness key is not a
  // cosignature (type 0x04): another key id, ignored.
  const std::string plain = SignCheckpoint(checkpoint_, StrName(0), *keys_[0]);
  vouched = VerifyCosignatures(note_ + plain.substr(plain.find("\n\n") + 2),
                               witnesses_);
  ASSERT_TRUE(vouched.ok()) << vouched.status();
  EXPECT_TRUE(vouched->empty());
}

// The time line is signed: changing the timestamp in the blob breaks it.
TEST_F(CosignatureTest, AlteredTimeDoesNotVerify) {
  const std::string line = Cosign(0);
  const size_t at = line.rfind(' ') + 1;
  auto blob = *Base64Decode(line.substr(at, line.size() - 1 - at));
  blob[11] ^= 1;  // The timestamp's last byte.
  const std::string altered = line.substr(0, at) + Base64Encode(blob) + "\n";
  auto s = VerifyCosignatures(note_ + altered, witnesses_).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated) << s;
  // A zero timestamp is refused by the signer and by the verifier.
  EXPECT_FALSE(CosignCheckpoint(CheckpointBody(checkpoint_), StrName(0),
                                *keys_[0], absl::UnixEpoch())
                   .ok());
  std::fill(blob.begin() + 4, blob.begin() + 12, '\0');
  s = VerifyCosignatures(note_ + line.substr(0, at) + Base64Encode(blob) + "\n",
                         witnesses_)
          .status();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated) << s;
}

TEST_F(CosignatureTest, MalformedNotesAreRefused) {
  const std::string line = Cosign(0);
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"", "newline"},
      {"no blank line\n", "blank line"},
      {CheckpointBody(checkpoint_) + "\n", "no signature"},
      {note_ + "- dash witness AAAA\n", "em dash"},
      {note_ + "\u2014 name-only\n", "<name>"},
      {note_ + "\u2014 a+b AAAAAAAA\n", "<name>"},
      {note_ + "\u2014 w AAAA\n", "not base64"},  // 3 bytes: no signature.
      {note_ + "\u2014 w AAAA_AAA\n", "not base64"},
      {note_ + "\u2014 w AAAAAAAA", "newline"},
      {note_ + std::string("\u2014 w AA\x01"
                           "AAAAA\n"),
       "control"},
  };
  for (const auto& [note, why] : bad) {
    auto s = VerifyCosignatures(note, witnesses_).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << note;
    EXPECT_NE(s.message().find(why), std::string::npos) << note << ": " << s;
  }
  std::string many = note_;
  for (size_t i = 0; i < kMaxNoteSignatures; ++i) many += line;
  EXPECT_FALSE(VerifyCosignatures(many, witnesses_).ok());
}

TEST_F(CosignatureTest, AddCheckpointBodyRoundTrips) {
  AddCheckpointRequest request{20, {LeafHash("a"), LeafHash("b")}, note_};
  const std::string body = EncodeAddCheckpoint(request);
  EXPECT_EQ(body.substr(0, 7), "old 20\n");
  auto parsed = ParseAddCheckpoint(body);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->old_size, 20u);
  EXPECT_EQ(parsed->proof, request.proof);
  EXPECT_EQ(parsed->checkpoint, note_);
  // No proof lines: "old 0", a blank line, the checkpoint.
  parsed = ParseAddCheckpoint("old 0\n\n" + note_);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(parsed->proof.empty());
  EXPECT_EQ(*ParseTlogSize(EncodeTlogSize(1234)), 1234u);
}

TEST_F(CosignatureTest, MalformedAddCheckpointBodiesNameTheLine) {
  const std::string hash = Base64Encode(std::string(32, 'x'));
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"", "line 1"},
      {"old\n\n" + note_, "line 1"},
      {"old -1\n\n" + note_, "line 1"},
      {"old 01\n\n" + note_, "line 1"},
      {"old 1 \n\n" + note_, "line 1"},
      {"old 99999999999999999999\n\n" + note_, "line 1"},  // > 2^64.
      {"new 1\n\n" + note_, "line 1"},
      {"old 1\n" + hash + "\n" + note_, "line 3"},  // No blank line.
      {"old 1\n" + hash.substr(4) + "\n\n" + note_, "line 2"},
      {"old 1\nnot base64!\n\n" + note_, "line 2"},
      {"old 1\n" + hash + "\n" + Base64Encode("short") + "\n\n" + note_,
       "line 3"},
      {"old 1\n" + hash, "line 2"},
      {"old 1\n\n", "no checkpoint"},
  };
  for (const auto& [body, why] : bad) {
    auto s = ParseAddCheckpoint(body).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << body;
    EXPECT_NE(s.message().find(why), std::string::npos) << body << ": " << s;
  }
  std::string lots = "old 1\n";
  for (size_t i = 0; i <= kMaxConsistencyProofLines; ++i) lots += hash + "\n";
  auto s = ParseAddCheckpoint(lots + "\n" + note_).status();
  EXPECT_NE(s.message().find("more than 63"), std::string::npos) << s;
  for (const char* size : {"", "\n", "12", "012\n", "1 2\n", "x\n"}) {
    EXPECT_FALSE(ParseTlogSize(size).ok()) << size;
  }
}

TEST_F(CosignatureTest, WitnessPolicyCountsDistinctListedWitnesses) {
  TrustRoot root;
  root.origin = kOrigin;
  root.witnesses = {witnesses_[0], witnesses_[1]};
  root.witness_threshold = 2;
  // One witness twice is one witness.
  const std::string once =
      note_ + Cosign(0) + Cosign(0, kWhen - absl::Seconds(9)) + Cosign(2);
  auto s = CheckWitnessPolicy(once, root).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(s.message().find("2 of 2 witnesses required, 1 vouched "
                             "(witness.example/w0)"),
            std::string::npos)
      << s;
  auto both = CheckWitnessPolicy(once + Cosign(1), root);
  ASSERT_TRUE(both.ok()) << both.status();
  ASSERT_EQ(both->size(), 2u);
  EXPECT_EQ((*both)[0].time, kWhen - absl::Seconds(9));  // The earliest.
  EXPECT_EQ(CosignerNames(*both), "witness.example/w0, witness.example/w1");
  // No policy: whoever vouched is reported, none is fine.
  root.witness_threshold = 0;
  auto none = CheckWitnessPolicy(note_, root);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  auto one = CheckWitnessPolicy(note_ + Cosign(1), root);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(CosignerNames(*one), "witness.example/w1");
}

// For the lead's retired-key rule: a checkpoint of a retired key counts
// only with k cosignatures dated while the key was valid.
TEST_F(CosignatureTest, RetiredKeyCheckpointNeedsWitnessesFromItsValidity) {
  TrustRoot root;
  root.origin = kOrigin;
  root.keys = {{log_key_->public_key(),
                {kRoleCheckpoint},
                kWhen - absl::Hours(24),
                kWhen + absl::Hours(1)}};
  root.witnesses = {witnesses_[0], witnesses_[1]};
  root.witness_threshold = 2;
  const std::string inside =
      note_ + Cosign(0) + Cosign(1, kWhen + absl::Minutes(59));
  auto ok = VerifyRetiredKeyCheckpoint(inside, root);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->size, 42u);
  // One cosignature after the key retired: only one in the window.
  const std::string late =
      note_ + Cosign(0) + Cosign(1, kWhen + absl::Hours(2));
  auto s = VerifyRetiredKeyCheckpoint(late, root).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(s.message().find("1 witness(es)"), std::string::npos) << s;
  // No policy, or a key that never retired: the rule does not apply.
  root.witness_threshold = 0;
  EXPECT_FALSE(VerifyRetiredKeyCheckpoint(inside, root).ok());
  root.witness_threshold = 2;
  root.keys[0].valid_until.reset();
  EXPECT_FALSE(VerifyRetiredKeyCheckpoint(inside, root).ok());
}

}  // namespace
}  // namespace loupe::crypto
