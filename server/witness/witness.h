#pragma once

// A transparency-log witness (C2SP tlog-witness): it keeps, for each log it
// follows, the newest checkpoint it cosigned, and cosigns a new checkpoint
// only if a consistency proof shows that it extends that one. A log that
// forks its history (another root at a size the witness saw, or a tree
// that does not contain the one it saw) gets no cosignature, so verifiers
// that require k witnesses refuse the fork (docs/transparency-log.md).
//
// HTTP (any http::Handler transport):
//   POST /add-checkpoint      body "old N\n", proof lines, "\n", checkpoint.
//     200  the cosignature line ("\u2014 <name> <base64>\n")
//     400  malformed body or checkpoint, or old size > checkpoint size
//     403  no valid signature by a key the witness trusts for the origin,
//          or a line of such a key that does not verify
//     404  unknown origin
//     409  old size is not the size last cosigned; body "<size>\n",
//          Content-Type text/x.tlog.size
//     422  the checkpoint is not consistent with the one last cosigned
//          (bad proof, same size with another root, a size-0 tree with a
//          non-empty root, a proof from size 0)
//   GET /<hex SHA-256 of origin>/checkpoint   the newest cosigned checkpoint
//   GET /healthz, /metrics
//
// Thread-safe: one mutex makes each check-and-save atomic, so concurrent
// submissions cannot roll the state back.

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crypto/ed25519.h"
#include "server/http/handler.h"
#include "server/http/metrics.h"
#include "server/witness/witness_state.h"

namespace loupe::witness {

// A log the witness follows: its origin and the checkpoint keys it trusts
// (signatures under the key name `origin`, C2SP signed-note type 0x01).
struct WitnessedLog {
  std::string origin;
  std::vector<crypto::PublicKey> keys;
};

class Witness : public server::http::Handler {
 public:
  struct Options {
    std::string name;  // The witness's key name.
    std::vector<WitnessedLog> logs;
    std::unique_ptr<WitnessState> state;
    std::function<absl::Time()> clock;         // Default absl::Now.
    server::http::Metrics* metrics = nullptr;  // For /metrics; may be null.
  };
  // INVALID_ARGUMENT naming the problem: a name that is not a key name, no
  // logs, a log twice.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Witness>> Create(
      Options options, crypto::SigningKey key);

  [[nodiscard]] server::http::Response Handle(
      const server::http::Request& request) const override;

  // The add-checkpoint call itself (the body of the POST).
  [[nodiscard]] server::http::Response AddCheckpoint(
      std::string_view body) const;

  [[nodiscard]] const crypto::PublicKey& public_key() const {
    return key_.public_key();
  }

 private:
  Witness(Options options, crypto::SigningKey key)
      : options_(std::move(options)), key_(std::move(key)) {}

  // The checks under the lock, after the log's signature verified.
  [[nodiscard]] server::http::Response CheckAndCosign(
      const std::string& origin, uint64_t old_size,
      const std::vector<crypto::Hash>& proof, const crypto::Checkpoint& next,
      const std::string& verified_note) const;
  [[nodiscard]] server::http::Response Monitor(std::string_view hash) const;
  [[nodiscard]] server::http::Response Metrics() const;

  Options options_;
  crypto::SigningKey key_;
  mutable std::mutex mu_;  // Guards options_.state and the counters.
  mutable std::map<std::pair<std::string, int>, uint64_t> answers_;
};

}  // namespace loupe::witness
