#pragma once

// Tests only: opens a store's RocksDB directly (the store must be closed),
// so that a test can damage what is stored the way a disk or an attacker
// would, and check that the store notices.

#include <rocksdb/db.h>

#include <string>
#include <string_view>
#include <vector>

namespace loupe::storage {

class RawDbForTests {
 public:
  explicit RawDbForTests(const std::string& data_dir) {
    std::vector<std::string> names;
    const std::string path = data_dir + "/rocksdb";
    status_ =
        rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &names);
    if (!status_.ok()) return;
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (const auto& n : names)
      cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
    status_ =
        rocksdb::DB::Open(rocksdb::DBOptions(), path, cfs, &handles_, &db_);
    names_ = names;
  }
  ~RawDbForTests() {
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
    delete db_;
  }
  RawDbForTests(const RawDbForTests&) = delete;
  RawDbForTests& operator=(const RawDbForTests&) = delete;

  [[nodiscard]] const rocksdb::Status& status() const { return status_; }
  [[nodiscard]] rocksdb::DB* db() const { return db_; }
  [[nodiscard]] rocksdb::ColumnFamilyHandle* cf(std::string_view name) const {
    for (size_t i = 0; i < names_.size(); ++i) {
      if (names_[i] == name) return handles_[i];
    }
    return nullptr;
  }

 private:
  rocksdb::Status status_;
  rocksdb::DB* db_ = nullptr;
  std::vector<std::string> names_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};

}  // namespace loupe::storage
