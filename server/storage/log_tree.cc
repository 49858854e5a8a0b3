#include "server/storage/log_tree.h"

#include <algorithm>
#include <bit>
#include <mutex>

#include "base/str_cat.h"

namespace loupe::storage {
namespace {

// The largest power of two smaller than n (n >= 2).
uint64_t SplitPoint(uint64_t n) { return std::bit_floor(n - 1); }

}  // namespace

uint64_t LogTree::SizeLocked() const {
  return levels_.empty() ? 0 : levels_[0].size();
}

uint64_t LogTree::size() const {
  std::shared_lock lock(mu_);
  return SizeLocked();
}

void LogTree::Append(const std::vector<crypto::Hash>& leaf_hashes) {
  std::unique_lock lock(mu_);
  if (levels_.empty()) levels_.emplace_back();
  for (const auto& leaf : leaf_hashes) {
    levels_[0].push_back(leaf);
    for (size_t k = 0; levels_[k].size() % 2 == 0; ++k) {
      if (levels_.size() == k + 1) levels_.emplace_back();
      const auto& level = levels_[k];
      levels_[k + 1].push_back(
          crypto::NodeHash(level[level.size() - 2], level[level.size() - 1]));
    }
  }
}

crypto::Hash LogTree::SubtreeHash(uint64_t begin, uint64_t end) const {
  const uint64_t n = end - begin;
  if (n == 0) return crypto::EmptyTreeHash();
  if (std::has_single_bit(n) && begin % n == 0) {
    const int k = std::countr_zero(n);
    return levels_[k][begin >> k];
  }
  const uint64_t split = SplitPoint(n);
  return crypto::NodeHash(SubtreeHash(begin, begin + split),
                          SubtreeHash(begin + split, end));
}

absl::StatusOr<std::vector<crypto::Hash>> LogTree::NodeHashes(
    int level, uint64_t first, uint64_t count) const {
  std::shared_lock lock(mu_);
  const uint64_t have =
      level >= 0 && static_cast<size_t>(level) < levels_.size()
          ? levels_[level].size()
          : 0;
  if (first > have || count > have - first) {
    return absl::NotFoundError(StrCat("the log has ", have,
                                      " complete subtrees at level ", level,
                                      ", not ", first, " + ", count));
  }
  return std::vector<crypto::Hash>(levels_[level].begin() + first,
                                   levels_[level].begin() + first + count);
}

absl::StatusOr<crypto::Hash> LogTree::Root(uint64_t size) const {
  std::shared_lock lock(mu_);
  if (size > SizeLocked()) {
    return absl::InvalidArgumentError(StrCat("tree_size: ", size,
                                             " is beyond the log's ",
                                             SizeLocked(), " entries"));
  }
  return SubtreeHash(0, size);
}

absl::StatusOr<crypto::Hash> LogTree::LeafHash(uint64_t index) const {
  std::shared_lock lock(mu_);
  if (index >= SizeLocked()) {
    return absl::InvalidArgumentError(StrCat(
        "index: ", index, " is beyond the log's ", SizeLocked(), " entries"));
  }
  return levels_[0][index];
}

absl::StatusOr<std::vector<crypto::Hash>> LogTree::InclusionProof(
    uint64_t index, uint64_t size) const {
  std::shared_lock lock(mu_);
  if (size > SizeLocked()) {
    return absl::InvalidArgumentError(StrCat("tree_size: ", size,
                                             " is beyond the log's ",
                                             SizeLocked(), " entries"));
  }
  if (index >= size) {
    return absl::InvalidArgumentError(
        StrCat("index: ", index, " is not in a tree of ", size, " entries"));
  }
  // RFC 9162 2.1.3.1, top-down: the sibling of the path at each split.
  std::vector<crypto::Hash> proof;
  uint64_t begin = 0, end = size;
  while (end - begin > 1) {
    const uint64_t split = SplitPoint(end - begin);
    if (index - begin < split) {
      proof.push_back(SubtreeHash(begin + split, end));
      end = begin + split;
    } else {
      proof.push_back(SubtreeHash(begin, begin + split));
      begin += split;
    }
  }
  std::reverse(proof.begin(), proof.end());
  return proof;
}

absl::StatusOr<std::vector<crypto::Hash>> LogTree::ConsistencyProof(
    uint64_t old_size, uint64_t new_size) const {
  std::shared_lock lock(mu_);
  if (new_size > SizeLocked()) {
    return absl::InvalidArgumentError(StrCat("new_size: ", new_size,
                                             " is beyond the log's ",
                                             SizeLocked(), " entries"));
  }
  if (old_size == 0 || old_size > new_size) {
    return absl::InvalidArgumentError(
        StrCat("old_size: must be between 1 and new_size (", new_size, ")"));
  }
  // RFC 9162 2.1.4.1 SUBPROOF(m, D[begin:end], b), top-down.
  std::vector<crypto::Hash> proof;
  uint64_t begin = 0, end = new_size, m = old_size;
  bool whole_old_tree = true;
  for (;;) {
    const uint64_t n = end - begin;
    if (m == n) {
      if (!whole_old_tree) proof.push_back(SubtreeHash(begin, end));
      break;
    }
    const uint64_t split = SplitPoint(n);
    if (m <= split) {
      proof.push_back(SubtreeHash(begin + split, end));
      end = begin + split;
    } else {
      proof.push_back(SubtreeHash(begin, begin + split));
      begin += split;
      m -= split;
      whole_old_tree = false;
    }
  }
  std::reverse(proof.begin(), proof.end());
  return proof;
}

}  // namespace loupe::storage
