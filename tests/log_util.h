#pragma once

// Calls of the transparency-log and status RPCs for the integration tests.

#include "client/registry_client.h"
#include "crypto/merkle.h"

namespace loupe::testing {

inline absl::StatusOr<v1::SignedCheckpoint> GetCheckpoint(
    client::RegistryClient& c) {
  return c.Call<v1::SignedCheckpoint>(
      v1::GetCheckpointRequest(), [&](auto* ctx, auto& rq, auto* rs) {
        return c.log_stub().GetCheckpoint(ctx, rq, rs);
      });
}

inline absl::StatusOr<v1::InclusionProof> GetInclusion(
    client::RegistryClient& c, uint64_t index, uint64_t size) {
  v1::GetInclusionProofRequest r;
  r.set_index(index);
  r.set_tree_size(size);
  return c.Call<v1::InclusionProof>(r, [&](auto* ctx, auto& rq, auto* rs) {
    return c.log_stub().GetInclusionProof(ctx, rq, rs);
  });
}

inline absl::StatusOr<v1::ConsistencyProof> GetConsistency(
    client::RegistryClient& c, uint64_t old_size, uint64_t new_size) {
  v1::GetConsistencyProofRequest r;
  r.set_old_size(old_size);
  r.set_new_size(new_size);
  return c.Call<v1::ConsistencyProof>(r, [&](auto* ctx, auto& rq, auto* rs) {
    return c.log_stub().GetConsistencyProof(ctx, rq, rs);
  });
}

inline absl::StatusOr<std::vector<std::string>> GetAllEntries(
    client::RegistryClient& c, uint64_t size) {
  std::vector<std::string> out;
  while (out.size() < size) {
    v1::GetEntriesRequest r;
    r.set_start(out.size());
    r.set_count(1000);
    auto page =
        c.Call<v1::GetEntriesResponse>(r, [&](auto* ctx, auto& rq, auto* rs) {
          return c.log_stub().GetEntries(ctx, rq, rs);
        });
    if (!page.ok()) return page.status();
    if (page->entries().empty()) return absl::DataLossError("short log");
    for (const auto& e : page->entries()) {
      if (out.size() < size) out.push_back(e.data());
    }
  }
  return out;
}

inline std::vector<crypto::Hash> ToHashes(
    const google::protobuf::RepeatedPtrField<std::string>& in) {
  std::vector<crypto::Hash> out;
  for (const auto& h : in) out.push_back(crypto::HashFromBytes(h));
  return out;
}

}  // namespace loupe::testing
