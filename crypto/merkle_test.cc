#include "crypto/merkle.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

namespace loupe::crypto {
namespace {

constexpr uint64_t kMaxSize = 64;

std::string Entry(uint64_t i) { return "entry " + std::to_string(i); }

std::vector<Hash> Leaves(uint64_t n) {
  std::vector<Hash> leaves;
  for (uint64_t i = 0; i < n; ++i) leaves.push_back(LeafHash(Entry(i)));
  return leaves;
}

std::string Hex(const Hash& h) { return ToHex(h); }

TEST(MerkleTest, EveryInclusionAndConsistencyProofUpTo64Verifies) {
  const auto leaves = Leaves(kMaxSize);
  for (uint64_t n = 1; n <= kMaxSize; ++n) {
    const Hash root = SubtreeRoot(leaves, 0, n);
    for (uint64_t i = 0; i < n; ++i) {
      auto proof = InclusionProof(leaves, i, n);
      ASSERT_TRUE(proof.ok());
      EXPECT_TRUE(VerifyInclusion(leaves[i], i, n, *proof, root))
          << i << "/" << n;
      EXPECT_LE(proof->size(), 7u);
    }
    for (uint64_t m = 1; m <= n; ++m) {
      auto proof = ConsistencyProof(leaves, m, n);
      ASSERT_TRUE(proof.ok());
      EXPECT_TRUE(
          VerifyConsistency(m, n, SubtreeRoot(leaves, 0, m), root, *proof))
          << m << "->" << n;
    }
  }
}

TEST(MerkleTest, WrongProofsAreRefused) {
  const auto leaves = Leaves(37);
  const Hash root = SubtreeRoot(leaves, 0, 37);
  auto proof = *InclusionProof(leaves, 13, 37);
  for (size_t k = 0; k < proof.size(); ++k) {
    auto bad = proof;
    bad[k][0] ^= 1;
    EXPECT_FALSE(VerifyInclusion(leaves[13], 13, 37, bad, root));
  }
  EXPECT_FALSE(VerifyInclusion(leaves[13], 14, 37, proof, root));
  // A size whose tree has another shape (the root binds the rest).
  EXPECT_FALSE(VerifyInclusion(leaves[13], 13, 16, proof, root));
  EXPECT_FALSE(VerifyInclusion(leaves[12], 13, 37, proof, root));
  auto extra = proof;
  extra.push_back(root);
  EXPECT_FALSE(VerifyInclusion(leaves[13], 13, 37, extra, root));
  // A forked history: same size 20, different entry 5.
  auto forked = leaves;
  forked[5] = LeafHash("rewritten");
  auto consistency = *ConsistencyProof(leaves, 20, 37);
  EXPECT_TRUE(
      VerifyConsistency(20, 37, SubtreeRoot(leaves, 0, 20), root, consistency));
  EXPECT_FALSE(
      VerifyConsistency(20, 37, SubtreeRoot(forked, 0, 20), root, consistency));
  for (size_t k = 0; k < consistency.size(); ++k) {
    auto bad = consistency;
    bad[k][3] ^= 1;
    EXPECT_FALSE(
        VerifyConsistency(20, 37, SubtreeRoot(leaves, 0, 20), root, bad));
  }
  EXPECT_FALSE(InclusionProof(leaves, 37, 37).ok());
  EXPECT_FALSE(ConsistencyProof(leaves, 0, 5).ok());
  EXPECT_FALSE(ConsistencyProof(leaves, 6, 5).ok());
  EXPECT_EQ(Hex(EmptyTreeHash()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

// Conformance: an independent implementation written from RFC 9162
// (tests/interop/verify_merkle.py) recomputes every root and checks every
// proof for every tree size from 1 to 64.
TEST(MerkleTest, IndependentVerifierAcceptsEveryProof) {
  const auto leaves = Leaves(kMaxSize);
  nlohmann::json data = {{"entries", nlohmann::json::array()},
                         {"roots", nlohmann::json::object()},
                         {"inclusion", nlohmann::json::array()},
                         {"consistency", nlohmann::json::array()}};
  for (uint64_t i = 0; i < kMaxSize; ++i) {
    const std::string e = Entry(i);
    data["entries"].push_back(
        ToHex(reinterpret_cast<const uint8_t*>(e.data()), e.size()));
  }
  auto hexes = [](const std::vector<Hash>& proof) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& h : proof) out.push_back(Hex(h));
    return out;
  };
  for (uint64_t n = 1; n <= kMaxSize; ++n) {
    data["roots"][std::to_string(n)] = Hex(SubtreeRoot(leaves, 0, n));
    for (uint64_t i = 0; i < n; ++i) {
      data["inclusion"].push_back(
          {{"index", i},
           {"size", n},
           {"proof", hexes(*InclusionProof(leaves, i, n))}});
    }
    for (uint64_t m = 1; m <= n; ++m) {
      data["consistency"].push_back(
          {{"old", m},
           {"new", n},
           {"proof", hexes(*ConsistencyProof(leaves, m, n))}});
    }
  }
  const std::string path = ::testing::TempDir() + "/loupe_merkle_proofs.json";
  std::ofstream(path) << data.dump();
  const std::string command = std::string("/usr/bin/python3 ") +
                              LOUPE_SOURCE_DIR +
                              "/tests/interop/verify_merkle.py " + path;
  EXPECT_EQ(std::system(command.c_str()), 0);
  // And it would notice a wrong proof.
  data["consistency"][100]["proof"][0] = Hex(LeafHash("forged"));
  std::ofstream(path, std::ios::trunc) << data.dump();
  EXPECT_NE(std::system((command + " > /dev/null").c_str()), 0);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace loupe::crypto
