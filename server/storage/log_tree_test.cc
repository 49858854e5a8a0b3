#include "server/storage/log_tree.h"

#include <gtest/gtest.h>

#include <string>

namespace loupe::storage {
namespace {

std::vector<crypto::Hash> Leaves(int n) {
  std::vector<crypto::Hash> leaves;
  for (int i = 0; i < n; ++i) {
    leaves.push_back(crypto::LeafHash("entry " + std::to_string(i)));
  }
  return leaves;
}

// The tree is grown one leaf at a time and in uneven batches; every root and
// proof must equal the reference implementation's (crypto/merkle.h, itself
// checked by tests/interop/verify_merkle.py written from the RFC).
TEST(LogTreeTest, MatchesTheReferenceForEverySizeUpTo70) {
  const auto leaves = Leaves(70);
  LogTree tree;
  size_t appended = 0;
  for (size_t batch = 1; appended < leaves.size(); batch = batch % 5 + 1) {
    const size_t n = std::min(batch, leaves.size() - appended);
    tree.Append({leaves.begin() + appended, leaves.begin() + appended + n});
    appended += n;
    ASSERT_EQ(tree.size(), appended);
  }
  for (uint64_t size = 0; size <= leaves.size(); ++size) {
    ASSERT_EQ(*tree.Root(size), crypto::SubtreeRoot(leaves, 0, size)) << size;
    for (uint64_t i = 0; i < size; ++i) {
      ASSERT_EQ(*tree.InclusionProof(i, size),
                *crypto::InclusionProof(leaves, i, size))
          << i << " in " << size;
    }
    for (uint64_t m = 1; m <= size; ++m) {
      ASSERT_EQ(*tree.ConsistencyProof(m, size),
                *crypto::ConsistencyProof(leaves, m, size))
          << m << " to " << size;
    }
  }
}

TEST(LogTreeTest, RefusesSizesBeyondTheTree) {
  LogTree tree;
  tree.Append(Leaves(3));
  EXPECT_EQ(tree.Root(4).status().code(), absl::StatusCode::kInvalidArgument);
  auto s = tree.InclusionProof(3, 3).status();
  EXPECT_NE(s.message().find("index"), std::string::npos) << s;
  s = tree.InclusionProof(0, 4).status();
  EXPECT_NE(s.message().find("tree_size"), std::string::npos) << s;
  s = tree.ConsistencyProof(0, 3).status();
  EXPECT_NE(s.message().find("old_size"), std::string::npos) << s;
  s = tree.ConsistencyProof(2, 5).status();
  EXPECT_NE(s.message().find("new_size"), std::string::npos) << s;
  EXPECT_EQ(*tree.LeafHash(2), Leaves(3)[2]);
}

}  // namespace
}  // namespace loupe::storage
