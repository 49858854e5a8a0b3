#pragma once

// Tests only: a fixture with a fresh RocksDB store (and the registry's
// write rules over it) in a temporary directory
// of its own, reopened at will (to check what survives a restart).

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "server/registry/ledger.h"
#include "server/storage/rocks/rocks_store.h"
#include "server/storage/store.h"

namespace loupe::storage {

class StoreFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("loupe_store_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    Reopen();
  }
  void TearDown() override {
    ledger_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Reopen() {
    ledger_.reset();
    store_.reset();
    auto s = OpenRocksStore(dir_.string());
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = *std::move(s);
    ledger_ = std::make_unique<server::Ledger>(store_.get());
  }

  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
  // The registry's write rules over store_ (tests write through them).
  std::unique_ptr<server::Ledger> ledger_;
};

}  // namespace loupe::storage
