#pragma once

// The HTTP routes served the newest checkpoint (/checkpoint; under
// /api/v1/log/ the checkpoint and proofs at the newest size; certificates,
// whose proofs are against it, and their verify pages) wait, without
// blocking an I/O thread, until the checkpoint publisher has published one
// holding every entry durable when the request arrived: a writer reading
// the log sees its own writes, and no request signs. Other requests go to
// the wrapped handler as they are.

#include "server/http/handler.h"
#include "server/log/checkpoint_publisher.h"

namespace loupe::server::http {

// Thread-safe. Neither pointer is owned; both outlive this.
class FreshCheckpointHandler final : public Handler {
 public:
  FreshCheckpointHandler(const Handler* inner, CheckpointPublisher* publisher)
      : inner_(inner), publisher_(publisher) {}

  [[nodiscard]] Response Handle(const Request& request) const override {
    return inner_->Handle(request);
  }
  void HandleAsync(const Request& request, Done done) const override;
  [[nodiscard]] BodyAdmission AdmitBody(const Request& head) const override {
    return inner_->AdmitBody(head);
  }

  // Whether `target` (path and query) is served the newest checkpoint.
  [[nodiscard]] static bool ServesNewestCheckpoint(std::string_view target);

 private:
  const Handler* inner_;
  CheckpointPublisher* publisher_;
};

}  // namespace loupe::server::http
