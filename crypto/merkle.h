#pragma once

// RFC 6962 / RFC 9162 Merkle tree hashing (SHA-256) and the proofs a
// transparency log serves: inclusion of an entry, consistency between two
// tree sizes. Leaf hash = H(0x00 || entry); node hash = H(0x01 || l || r);
// the empty tree hashes to H(""); a tree of n leaves splits at the largest
// power of two smaller than n.

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/sha256.h"

namespace loupe::crypto {

using Hash = Sha256Digest;

[[nodiscard]] Hash EmptyTreeHash();
// A hash as proofs carry it on the wire: the first 32 bytes, zero-filled
// if shorter (a hash of the wrong length then simply fails verification).
[[nodiscard]] Hash HashFromBytes(std::string_view bytes);
[[nodiscard]] Hash LeafHash(std::string_view entry);
[[nodiscard]] Hash NodeHash(const Hash& left, const Hash& right);

// The root of the leaves [begin, end) given their leaf hashes.
[[nodiscard]] Hash SubtreeRoot(const std::vector<Hash>& leaves, uint64_t begin,
                               uint64_t end);

// Proofs over the first `size` of `leaves` (RFC 9162 2.1.3.1 and 2.1.4.1).
// INVALID_ARGUMENT if index >= size, size > leaves, or not 0 < m <= n.
[[nodiscard]] absl::StatusOr<std::vector<Hash>> InclusionProof(
    const std::vector<Hash>& leaves, uint64_t index, uint64_t size);
[[nodiscard]] absl::StatusOr<std::vector<Hash>> ConsistencyProof(
    const std::vector<Hash>& leaves, uint64_t old_size, uint64_t new_size);

// Verifiers (RFC 9162 2.1.3.2 and 2.1.4.2): true only if the proof is
// exactly right.
[[nodiscard]] bool VerifyInclusion(const Hash& leaf_hash, uint64_t index,
                                   uint64_t size,
                                   const std::vector<Hash>& proof,
                                   const Hash& root);
[[nodiscard]] bool VerifyConsistency(uint64_t old_size, uint64_t new_size,
                                     const Hash& old_root, const Hash& new_root,
                                     const std::vector<Hash>& proof);

}  // namespace loupe::crypto
