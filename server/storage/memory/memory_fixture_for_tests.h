#pragma once

// Tests only: a fixture with a fresh in-memory store and the registry's
// write rules over it (and a directory of its own), for unit tests of the
// layers above storage.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "server/registry/ledger.h"
#include "server/storage/memory/memory_store.h"

namespace loupe::storage {

class MemoryStoreFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("loupe_memory_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    store_ = NewMemoryStore();
    ledger_ = std::make_unique<server::Ledger>(store_.get());
  }
  void TearDown() override {
    ledger_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // A fresh directory of the test's own, for files beside the store.
  std::filesystem::path dir_;
  std::unique_ptr<MemoryStore> store_;
  std::unique_ptr<server::Ledger> ledger_;
};

}  // namespace loupe::storage
