#pragma once

// The transparency log's Merkle tree in memory: every complete subtree hash
// at every level (about 64 bytes per entry), so that roots and proofs of
// any size up to the current one take O(log n) lookups and at most O(log n)
// hashes for the incomplete right edge. Hashing per RFC 6962 / RFC 9162
// (crypto/merkle.h); proofs are byte-identical to crypto::InclusionProof
// and crypto::ConsistencyProof over the same leaves.
//
// Thread-safe: appends take an exclusive lock, reads a shared one.

#include <cstdint>
#include <deque>
#include <shared_mutex>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/merkle.h"

namespace loupe::storage {

class LogTree {
 public:
  [[nodiscard]] uint64_t size() const;
  void Append(const std::vector<crypto::Hash>& leaf_hashes);

  // INVALID_ARGUMENT naming the field ("tree_size", "index", "old_size")
  // when a size or index is beyond the tree or the proof is undefined.
  [[nodiscard]] absl::StatusOr<crypto::Hash> Root(uint64_t size) const;
  [[nodiscard]] absl::StatusOr<crypto::Hash> LeafHash(uint64_t index) const;
  [[nodiscard]] absl::StatusOr<std::vector<crypto::Hash>> InclusionProof(
      uint64_t index, uint64_t size) const;
  [[nodiscard]] absl::StatusOr<std::vector<crypto::Hash>> ConsistencyProof(
      uint64_t old_size, uint64_t new_size) const;
  // The roots of the complete subtrees of 2^level leaves number first,
  // first + 1, ... (count of them): the hashes a C2SP tile holds. Once a
  // subtree is complete its hash never changes. NOT_FOUND if any of them is
  // not complete yet.
  [[nodiscard]] absl::StatusOr<std::vector<crypto::Hash>> NodeHashes(
      int level, uint64_t first, uint64_t count) const;

 private:
  // The hash of leaves [begin, end), end <= size(); lock held.
  [[nodiscard]] crypto::Hash SubtreeHash(uint64_t begin, uint64_t end) const;
  [[nodiscard]] uint64_t SizeLocked() const;

  mutable std::shared_mutex mu_;
  // levels_[k][i]: the root of leaves [i * 2^k, (i + 1) * 2^k).
  std::vector<std::deque<crypto::Hash>> levels_;
};

}  // namespace loupe::storage
