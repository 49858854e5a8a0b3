#pragma once

// Tests only: the storage contract (server/storage/store.h) as a
// parameterised gtest suite that every engine must pass. An engine's test
// file implements Engine and instantiates the suite:
//
//   INSTANTIATE_TEST_SUITE_P(Memory, StoreConformanceTest,
//                            ::testing::Values(&kMemoryEngine),
//                            EngineName);
//
// The cases (store_conformance_*.cc) cover atomic commits, refused works,
// concurrent writers and conflicts, pagination, asset streaming with digest
// and size checks, crash staging, scrub naming damaged records, backup and
// restore, and the transparency log. They write through the registry's
// rules (server::Ledger) where the rules matter, and through
// Store::Commit directly where the contract is the engine's alone.

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <future>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crypto/sha256.h"
#include "server/registry/ledger.h"
#include "server/storage/store.h"

namespace loupe::storage::conformance {

// What the suite needs of an engine, beyond Store. Implementations are
// stateless (the suite's fixture owns stores and directories); const
// methods so that one static instance serves every test.
class Engine {
 public:
  virtual ~Engine() = default;
  // For test names: letters and digits only.
  [[nodiscard]] virtual std::string name() const = 0;
  // Opens the store kept in `dir` (an existing directory of the test's
  // own), creating an empty one if none is there.
  [[nodiscard]] virtual absl::StatusOr<std::unique_ptr<Store>> Open(
      const std::string& dir) const = 0;
  // Whether a store closed and opened again in the same directory still
  // holds everything committed (false: Open always starts empty).
  [[nodiscard]] virtual bool persists() const = 0;
  // A store with what StoreAdmin::Backup wrote into `backup_dir`, kept in
  // `dir` (an existing empty directory). NOT_FOUND if there is no backup.
  [[nodiscard]] virtual absl::StatusOr<std::unique_ptr<Store>> Restore(
      const std::string& backup_dir, const std::string& dir) const = 0;

  // Damage what `store` (kept in `dir`) has stored, as a disk or an
  // attacker would, without telling it. The engine may close `store` and
  // open it again (a persistent engine damages its files with the store
  // closed); on return `store` is open.
  // Flips one bit of the byte at `offset` of the asset's stored bytes.
  [[nodiscard]] virtual absl::Status FlipAssetByte(
      std::unique_ptr<Store>& store, const std::string& dir,
      const crypto::Sha256Digest& sha256, uint64_t offset) const = 0;
  // Replaces the bytes of log entry `index`, leaving its recorded leaf hash.
  [[nodiscard]] virtual absl::Status RewriteLogEntry(
      std::unique_ptr<Store>& store, const std::string& dir, uint64_t index,
      const std::string& entry) const = 0;
};

// For INSTANTIATE_TEST_SUITE_P's name generator.
[[nodiscard]] std::string EngineName(
    const ::testing::TestParamInfo<const Engine*>& info);

class StoreConformanceTest : public ::testing::TestWithParam<const Engine*> {
 protected:
  void SetUp() override;
  void TearDown() override;

  [[nodiscard]] const Engine& engine() const { return *GetParam(); }
  // Closes the store and opens it again from its directory (only for
  // engines that persist).
  void Reopen();
  // Backs the store up and restores the backup as a second store,
  // `restored_` (with `restored_ledger_`).
  void BackupAndRestore();
  // Damages the store through the engine; ledger_ follows the store.
  void FlipAssetByte(const crypto::Sha256Digest& sha256, uint64_t offset);
  void RewriteLogEntry(uint64_t index, const std::string& entry);

  // Records with the fields the rules need.
  [[nodiscard]] static v1::Piece MakePiece(const std::string& id,
                                           const std::string& studio,
                                           const std::string& reference);
  [[nodiscard]] static v1::TwinVersion MakeVersion(const std::string& piece,
                                                   uint32_t parent);
  // A new piece through the ledger, with `versions` versions after it.
  [[nodiscard]] absl::Status AddPiece(const std::string& id,
                                      const std::string& studio,
                                      int versions = 0);
  // Uploads `bytes` for `studio` in one Append; returns the digest.
  crypto::Sha256Digest Upload(const std::string& bytes,
                              const std::string& studio = "aurum");
  // Every byte of an asset, read chunk by chunk.
  [[nodiscard]] absl::StatusOr<std::string> ReadAll(
      Store& store, const crypto::Sha256Digest& sha256);

  std::filesystem::path dir_;  // The test's own; the store lives in store/.
  std::unique_ptr<Store> store_;
  std::unique_ptr<server::Ledger> ledger_;
  std::unique_ptr<Store> restored_;  // After BackupAndRestore().
  std::unique_ptr<server::Ledger> restored_ledger_;

 private:
  void AttachLedger();
};

// Holds a store's commit thread inside a work until released, so that the
// works committed meanwhile queue up and are applied together as one
// commit group. Release (or destroy) it before the store.
class CommitterGate {
 public:
  // Returns once the gate's work is running.
  explicit CommitterGate(Store& store);
  ~CommitterGate() { Release(); }
  CommitterGate(const CommitterGate&) = delete;
  CommitterGate& operator=(const CommitterGate&) = delete;
  // Lets the gate's work (and what queued behind it) commit; idempotent.
  void Release();

 private:
  std::promise<void> running_;
  std::promise<void> release_;
  bool released_ = false;
};

// A byte string of `n` pseudo-random bytes (the same for the same seed).
[[nodiscard]] std::string RandomBytes(size_t n, int seed);

}  // namespace loupe::storage::conformance
