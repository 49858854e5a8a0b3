#include "crypto/merkle.h"

#include "absl/status/status.h"
#include "base/str_cat.h"

namespace loupe::crypto {
namespace {

// The largest power of two strictly smaller than n (n >= 2).
uint64_t Split(uint64_t n) {
  uint64_t k = 1;
  while (k << 1 < n) k <<= 1;
  return k;
}

// RFC 9162 2.1.3.1 PATH(m, D[begin:end]).
void Path(const std::vector<Hash>& leaves, uint64_t m, uint64_t begin,
          uint64_t end, std::vector<Hash>* proof) {
  const uint64_t n = end - begin;
  if (n <= 1) return;
  const uint64_t k = Split(n);
  if (m < k) {
    Path(leaves, m, begin, begin + k, proof);
    proof->push_back(SubtreeRoot(leaves, begin + k, end));
  } else {
    Path(leaves, m - k, begin + k, end, proof);
    proof->push_back(SubtreeRoot(leaves, begin, begin + k));
  }
}

// RFC 9162 2.1.4.1 SUBPROOF(m, D[begin:end], b).
void Subproof(const std::vector<Hash>& leaves, uint64_t m, uint64_t begin,
              uint64_t end, bool complete, std::vector<Hash>* proof) {
  const uint64_t n = end - begin;
  if (m == n) {
    if (!complete) proof->push_back(SubtreeRoot(leaves, begin, end));
    return;
  }
  const uint64_t k = Split(n);
  if (m <= k) {
    Subproof(leaves, m, begin, begin + k, complete, proof);
    proof->push_back(SubtreeRoot(leaves, begin + k, end));
  } else {
    Subproof(leaves, m - k, begin + k, end, false, proof);
    proof->push_back(SubtreeRoot(leaves, begin, begin + k));
  }
}

Hash Concat(uint8_t prefix, const Hash& left, const Hash& right) {
  Sha256 h;
  h.Update(&prefix, 1);
  h.Update(left.data(), left.size());
  h.Update(right.data(), right.size());
  return h.Finish();
}

}  // namespace

Hash HashFromBytes(std::string_view bytes) {
  Hash h{};
  std::copy_n(bytes.begin(), std::min(bytes.size(), h.size()), h.begin());
  return h;
}

Hash EmptyTreeHash() { return Sha256::Of(""); }

Hash LeafHash(std::string_view entry) {
  Sha256 h;
  const uint8_t zero = 0;
  h.Update(&zero, 1);
  h.Update(entry);
  return h.Finish();
}

Hash NodeHash(const Hash& left, const Hash& right) {
  return Concat(1, left, right);
}

Hash SubtreeRoot(const std::vector<Hash>& leaves, uint64_t begin,
                 uint64_t end) {
  const uint64_t n = end - begin;
  if (n == 0) return EmptyTreeHash();
  if (n == 1) return leaves[begin];
  const uint64_t k = Split(n);
  return NodeHash(SubtreeRoot(leaves, begin, begin + k),
                  SubtreeRoot(leaves, begin + k, end));
}

absl::StatusOr<std::vector<Hash>> InclusionProof(
    const std::vector<Hash>& leaves, uint64_t index, uint64_t size) {
  if (size > leaves.size() || index >= size) {
    return absl::InvalidArgumentError(
        StrCat("index: ", index, " is not in a tree of size ", size));
  }
  std::vector<Hash> proof;
  Path(leaves, index, 0, size, &proof);
  return proof;
}

absl::StatusOr<std::vector<Hash>> ConsistencyProof(
    const std::vector<Hash>& leaves, uint64_t old_size, uint64_t new_size) {
  if (old_size == 0 || old_size > new_size || new_size > leaves.size()) {
    return absl::InvalidArgumentError(
        StrCat("sizes: need 0 < old <= new <= ", leaves.size(), ", got ",
               old_size, " and ", new_size));
  }
  std::vector<Hash> proof;
  if (old_size < new_size)
    Subproof(leaves, old_size, 0, new_size, true, &proof);
  return proof;
}

bool VerifyInclusion(const Hash& leaf_hash, uint64_t index, uint64_t size,
                     const std::vector<Hash>& proof, const Hash& root) {
  if (index >= size) return false;
  uint64_t fn = index, sn = size - 1;
  Hash r = leaf_hash;
  for (const Hash& p : proof) {
    if (sn == 0) return false;
    if ((fn & 1) == 1 || fn == sn) {
      r = NodeHash(p, r);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root;
}

bool VerifyConsistency(uint64_t old_size, uint64_t new_size,
                       const Hash& old_root, const Hash& new_root,
                       const std::vector<Hash>& proof) {
  if (old_size == 0 || old_size > new_size) return false;
  if (old_size == new_size) return proof.empty() && old_root == new_root;
  if (proof.empty()) return false;
  std::vector<Hash> path = proof;
  // If old_size is a power of two, the old root is the first node.
  if ((old_size & (old_size - 1)) == 0) path.insert(path.begin(), old_root);
  uint64_t fn = old_size - 1, sn = new_size - 1;
  while ((fn & 1) == 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = path[0], sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const Hash& c = path[i];
    if (sn == 0) return false;
    if ((fn & 1) == 1 || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return fr == old_root && sr == new_root && sn == 0;
}

}  // namespace loupe::crypto
