#pragma once

// Submits the registry's checkpoints to its witnesses (C2SP tlog-witness)
// and staples their cosignatures (TransparencyLog::AddCosignatures). One
// background thread, never a gRPC reactor or HTTP I/O thread: every
// `interval` it takes the newest checkpoint (signing one if the tree grew)
// and sends it, with a consistency proof from the size each witness last
// acknowledged, to every witness that has not cosigned it yet, all at once
// (libcurl, bounded by `timeout`). A 409 teaches it the witness's size and
// it retries at once; any other refusal (a 422 means the witness saw a
// history this registry contradicts: a fork) is logged on stderr and
// counted in /metrics as loupe_requests_total{protocol="witness"}, and
// retried no more than once a minute for the same checkpoint. Cosignatures
// are verified with the configured key before they are kept.

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/cosignature.h"
#include "loupe/v1/config.pb.h"
#include "server/http/metrics.h"
#include "server/log/transparency_log.h"
#include "server/storage/store.h"

namespace loupe::server {

// Checks config.witnessing and fills its defaults. INVALID_ARGUMENT naming
// the option: a witness without a key name, a 64-hex key or an http(s)
// URL, a name twice, a quorum above the number of witnesses.
[[nodiscard]] absl::Status FinishWitnessingConfig(v1::ServerConfig* config);

// The witnesses of a finished config, as verifiers know them.
[[nodiscard]] std::vector<crypto::Cosigner> ConfiguredWitnesses(
    const v1::WitnessingConfig& config);

class WitnessPublisher {
 public:
  // Starts the thread. `log`, `store` and `metrics` must outlive the
  // publisher; `config` must have passed FinishWitnessingConfig and list at
  // least one witness. `leading` (if set) says whether this front end
  // holds the checkpoint publisher's lease (CheckpointPublisher::leading):
  // only the holder submits; the others skip their rounds.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<WitnessPublisher>> Start(
      const v1::WitnessingConfig& config, TransparencyLog* log,
      storage::Store* store, http::Metrics* metrics,
      std::function<bool()> leading = nullptr);
  ~WitnessPublisher();  // Stop().

  // Stops the thread (a submission in flight is cut short). Idempotent.
  void Stop();

  struct Impl;

 private:
  explicit WitnessPublisher(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace loupe::server
