// The PostgreSQL engine beyond the conformance suite: schema migrations,
// the retry of a commit group on a serialization failure, and two stores
// (front ends) on one database.
#include "server/storage/postgres/postgres_store.h"

#include <gtest/gtest.h>

#include "server/storage/postgres/test_cluster_for_tests.h"

namespace loupe::storage {
namespace {

using testing::SharedPostgresCluster;

TEST(PostgresClusterTest, Starts) {
  auto url = SharedPostgresCluster().CreateDatabase(
      SharedPostgresCluster().UniqueName("smoke"));
  ASSERT_TRUE(url.ok()) << url.status();
}

}  // namespace
}  // namespace loupe::storage
