// The log's static copy read back: tiles built here independently of the
// server (from crypto/merkle.h), then roots and proofs rebuilt from them,
// and damaged, swapped, stale or forked copies refused with the tile named.
#include "client/static_log.h"

#include <gtest/gtest.h>

#include <map>

#include "base/str_cat.h"
#include "crypto/checkpoint.h"

namespace loupe::client {
namespace {

constexpr int kW = 256;

// A static copy of a log of `n` entries, as C2SP tlog-tiles lays it out.
struct Copy {
  std::vector<std::string> entries;
  std::vector<crypto::Hash> leaves;
  std::map<std::string, std::string> objects;

  explicit Copy(uint64_t n, const std::string& salt = "") {
    for (uint64_t i = 0; i < n; ++i) {
      entries.push_back(StrCat("entry ", salt, i));
      leaves.push_back(crypto::LeafHash(entries.back()));
    }
    for (int level = 0; level < 8 && (n >> (8 * level)) > 0; ++level) {
      const uint64_t nodes = n >> (8 * level),
                     span = uint64_t{1} << (8 * level);
      for (uint64_t t = 0; t * kW < nodes; ++t) {
        const int w = static_cast<int>(std::min<uint64_t>(kW, nodes - t * kW));
        std::string tile;
        for (int j = 0; j < w; ++j) {
          const uint64_t node = t * kW + j;
          const auto h =
              crypto::SubtreeRoot(leaves, node * span, (node + 1) * span);
          tile.append(h.begin(), h.end());
        }
        objects[StaticTileKey(level, t, w)] = tile;
      }
    }
    for (uint64_t t = 0; t * kW < n; ++t) {
      const int w = static_cast<int>(std::min<uint64_t>(kW, n - t * kW));
      std::string bundle;
      for (int j = 0; j < w; ++j) {
        const std::string& e = entries[t * kW + j];
        bundle += static_cast<char>(e.size() >> 8);
        bundle += static_cast<char>(e.size() & 0xff);
        bundle += e;
      }
      objects[StaticTileKey(-1, t, w)] = bundle;
    }
    objects["checkpoint"] = Note(n);
  }
  crypto::Hash Root(uint64_t size) const {
    return crypto::SubtreeRoot(leaves, 0, size);
  }
  crypto::Checkpoint At(uint64_t size) const {
    return {"registry.test/loupe", size, Root(size)};
  }
  // Unsigned: ProveFromCopy leaves the signature to its caller.
  std::string Note(uint64_t size) const {
    return crypto::CheckpointBody(At(size)) + "\n\u2014 test AAAA\n";
  }
  StaticFetcher Fetcher() {
    return [this](const std::string& key) -> absl::StatusOr<std::string> {
      auto it = objects.find(key);
      if (it == objects.end()) return absl::NotFoundError(key);
      return it->second;
    };
  }
};

TEST(StaticLogTest, RebuildsRootsAndProofsThatVerify) {
  for (uint64_t n : {1u, 7u, 255u, 256u, 257u, 600u, 65536u + 300u}) {
    Copy copy(n);
    StaticLog log(copy.Fetcher());
    ASSERT_TRUE(log.CheckRoot(n, copy.Root(n)).ok()) << n;
    for (uint64_t i : {uint64_t{0}, n / 2, n - 1}) {
      auto proof = log.InclusionProof(i, n);
      ASSERT_TRUE(proof.ok()) << proof.status();
      EXPECT_TRUE(
          crypto::VerifyInclusion(copy.leaves[i], i, n, *proof, copy.Root(n)))
          << i << " of " << n;
    }
    for (uint64_t m : {uint64_t{1}, n / 3 + 1, n}) {
      auto proof = log.ConsistencyProof(m, n);
      ASSERT_TRUE(proof.ok()) << proof.status();
      EXPECT_TRUE(
          crypto::VerifyConsistency(m, n, copy.Root(m), copy.Root(n), *proof))
          << m << " -> " << n;
    }
    EXPECT_TRUE(log.CheckAll(n, copy.Root(n), /*entries=*/true).ok()) << n;
  }
}

TEST(StaticLogTest, AnAlteredFullTileIsNamed) {
  Copy copy(600);
  copy.objects["tile/0/001"][40] ^= 1;
  StaticLog log(copy.Fetcher());
  // The root reads only the right edge; checking every tile finds it.
  EXPECT_TRUE(log.CheckRoot(600, copy.Root(600)).ok());
  auto s = log.CheckAll(600, copy.Root(600), false);
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  EXPECT_NE(s.message().find("tile/0/001:"), std::string::npos) << s;
}

TEST(StaticLogTest, AnAlteredPartialTileIsNamedByTheRoot) {
  Copy copy(600);
  copy.objects["tile/0/002.p/88"][0] ^= 1;
  StaticLog log(copy.Fetcher());
  auto s = log.CheckRoot(600, copy.Root(600));
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  EXPECT_NE(s.message().find("tile/0/002.p/88"), std::string::npos) << s;
}

TEST(StaticLogTest, AnAlteredEntryBundleIsNamed) {
  Copy copy(600);
  copy.objects["tile/entries/001"][5] ^= 1;
  StaticLog log(copy.Fetcher());
  EXPECT_TRUE(log.CheckAll(600, copy.Root(600), false).ok());
  auto s = log.CheckAll(600, copy.Root(600), true);
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  EXPECT_NE(s.message().find("tile/entries/001:"), std::string::npos) << s;
}

TEST(StaticLogTest, ATruncatedTileIsNamed) {
  Copy copy(300);
  copy.objects["tile/0/001.p/44"].pop_back();
  StaticLog log(copy.Fetcher());
  auto s = log.CheckRoot(300, copy.Root(300));
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  EXPECT_NE(s.message().find("tile/0/001.p/44: 1407 bytes"), std::string::npos)
      << s;
}

TEST(StaticLogTest, ProvesFromTheCopyAndRefusesASwappedTile) {
  Copy copy(600);
  {
    StaticLog log(copy.Fetcher());
    auto proof = ProveFromCopy(log, 3, copy.At(300), copy.entries[3]);
    ASSERT_TRUE(proof.ok()) << proof.status();
    EXPECT_EQ(proof->tree_size, 600u);
    EXPECT_EQ(proof->checkpoint, copy.Note(600));
  }
  copy.objects["tile/0/000"] = copy.objects["tile/0/001"];
  StaticLog log(copy.Fetcher());
  auto proof = ProveFromCopy(log, 3, std::nullopt, copy.entries[3]);
  EXPECT_TRUE(absl::IsDataLoss(proof.status())) << proof.status();
  EXPECT_NE(proof.status().message().find("tile/0/000"), std::string::npos)
      << proof.status();
}

TEST(StaticLogTest, RefusesAStaleCopy) {
  Copy copy(300);
  Copy newer(600);
  StaticLog log(copy.Fetcher());
  auto proof = ProveFromCopy(log, 3, newer.At(600), copy.entries[3]);
  EXPECT_TRUE(absl::IsFailedPrecondition(proof.status())) << proof.status();
  EXPECT_NE(proof.status().message().find("stale"), std::string::npos);
  // An entry beyond the copy's checkpoint: also stale.
  EXPECT_FALSE(ProveFromCopy(log, 400, std::nullopt, "x").ok());
}

TEST(StaticLogTest, RefusesAForkedCopy) {
  Copy copy(600);
  Copy other(300, "forked ");  // Another history of the first 300.
  StaticLog log(copy.Fetcher());
  auto proof = ProveFromCopy(log, 3, other.At(300), copy.entries[3]);
  EXPECT_TRUE(absl::IsDataLoss(proof.status())) << proof.status();
  EXPECT_NE(proof.status().message().find("not consistent"), std::string::npos);
}

}  // namespace
}  // namespace loupe::client
