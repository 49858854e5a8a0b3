// `loupe log`: the registry's transparency log, for auditors and witnesses.
#include <fstream>
#include <nlohmann/json.hpp>

#include "absl/time/clock.h"
#include "base/file.h"
#include "base/status_macros.h"
#include "base/str_cat.h"
#include "client/cli_common.h"
#include "client/progress.h"
#include "client/registry_client.h"
#include "client/static_log.h"
#include "crypto/log_entry.h"
#include "crypto/trust_root.h"
#include "crypto/witness_policy.h"

namespace loupe::client {
namespace {

using Json = nlohmann::json;

struct LogOptions {
  std::string root, saved, save, output;
  std::string log_url;  // The log's static copy, instead of the registry.
  bool entries = false;
};

absl::StatusOr<crypto::TrustRoot> LoadRoot(const std::string& path) {
  ASSIGN_OR_RETURN(const std::string text, ReadFileToString(path));
  ASSIGN_OR_RETURN(const auto envelope, crypto::EnvelopeFromJson(text));
  return crypto::VerifyInitialRoot(envelope);
}

// Follows the rotations the registry sends with its checkpoint from the
// root the user holds (each checked against the one before).
absl::StatusOr<crypto::TrustRoot> CurrentRoot(
    const crypto::TrustRoot& held, const v1::SignedCheckpoint& checkpoint) {
  std::vector<crypto::DsseEnvelope> chain;
  for (const auto& text : checkpoint.root_chain()) {
    ASSIGN_OR_RETURN(auto envelope, crypto::EnvelopeFromJson(text));
    chain.push_back(std::move(envelope));
  }
  return crypto::FollowRoots(held, chain);
}

absl::StatusOr<v1::SignedCheckpoint> FetchCheckpoint(RegistryClient& client) {
  return client.Call<v1::SignedCheckpoint>(
      v1::GetCheckpointRequest(), [&](auto* c, auto& rq, auto* rs) {
        return client.log_stub().GetCheckpoint(c, rq, rs);
      });
}

int ShowCheckpoint(const Globals& g, const LogOptions& o) {
  RegistryClient client(g.server, g.token, g.channel);
  auto checkpoint = FetchCheckpoint(client);
  if (!checkpoint.ok()) return Fail(checkpoint.status());
  if (!o.root.empty()) {
    auto root = LoadRoot(o.root);
    if (!root.ok()) return Usage(StrCat("--root: ", root.status().message()));
    auto newest = CurrentRoot(*root, *checkpoint);
    if (!newest.ok()) return Fail(newest.status());
    auto verified =
        crypto::VerifyRootCheckpoint(checkpoint->note(), *newest, absl::Now());
    if (!verified.ok()) return Fail(verified.status());
    auto witnesses = crypto::CheckWitnessPolicy(checkpoint->note(), *newest);
    if (!witnesses.ok()) return Fail(witnesses.status());
    if (!newest->witnesses.empty() && !g.json) {
      std::cerr << "witnessed by: "
                << (witnesses->empty() ? "none"
                                       : crypto::CosignerNames(*witnesses))
                << "\n";
    }
  }
  if (!o.output.empty()) {
    std::ofstream(o.output, std::ios::trunc) << checkpoint->note();
  }
  if (g.json) {
    std::cout << ToJson(*checkpoint) << "\n";
  } else {
    std::cout << checkpoint->note();
  }
  return kOk;
}

// Recomputes the root of the first `size` entries from the entries.
absl::StatusOr<crypto::Hash> RootFromEntries(RegistryClient& client,
                                             uint64_t size) {
  std::vector<crypto::Hash> leaves;
  leaves.reserve(size);
  std::unique_ptr<Progress> progress;
  if (size > 10000) progress = std::make_unique<Progress>("entries", size);
  while (leaves.size() < size) {
    v1::GetEntriesRequest request;
    request.set_start(leaves.size());
    request.set_count(
        static_cast<uint32_t>(std::min<uint64_t>(1000, size - leaves.size())));
    auto page = client.Call<v1::GetEntriesResponse>(
        request, [&](auto* c, auto& rq, auto* rs) {
          return client.log_stub().GetEntries(c, rq, rs);
        });
    if (!page.ok()) return page.status();
    if (page->entries().empty()) {
      return absl::DataLossError(
          StrCat("the log served no entry at ", leaves.size()));
    }
    for (const auto& e : page->entries()) {
      if (e.index() != leaves.size()) {
        return absl::DataLossError(
            StrCat("entry ", leaves.size(), " came with index ", e.index()));
      }
      leaves.push_back(crypto::LeafHash(e.data()));
      if (leaves.size() == size) break;
    }
    if (progress) progress->Update(leaves.size());
  }
  return crypto::SubtreeRoot(leaves, 0, size);
}

// Where an audit reads the log: the registry (gRPC) or its static copy
// (--log-url, C2SP tiles). Each answer is checked by Audit, whoever gave it.
struct AuditSource {
  std::function<absl::StatusOr<v1::SignedCheckpoint>()> checkpoint;
  std::function<absl::StatusOr<std::vector<crypto::Hash>>(uint64_t, uint64_t)>
      consistency;
  // The tree behind the verified checkpoint (`entries`: with every entry)
  // rebuilds its root; DATA_LOSS naming the first part that does not.
  std::function<absl::Status(uint64_t size, const crypto::Hash& root,
                             bool entries)>
      check_tree;
};

AuditSource RegistrySource(RegistryClient& client) {
  return {[&client] { return FetchCheckpoint(client); },
          [&client](uint64_t old_size, uint64_t new_size)
              -> absl::StatusOr<std::vector<crypto::Hash>> {
            v1::GetConsistencyProofRequest request;
            request.set_old_size(old_size);
            request.set_new_size(new_size);
            auto proof = client.Call<v1::ConsistencyProof>(
                request, [&](auto* c, auto& rq, auto* rs) {
                  return client.log_stub().GetConsistencyProof(c, rq, rs);
                });
            if (!proof.ok()) return proof.status();
            std::vector<crypto::Hash> hashes;
            for (const auto& h : proof->hashes()) {
              hashes.push_back(crypto::HashFromBytes(h));
            }
            return hashes;
          },
          [&client](uint64_t size, const crypto::Hash& root,
                    bool entries) -> absl::Status {
            if (!entries) return absl::OkStatus();
            auto recomputed = RootFromEntries(client, size);
            if (!recomputed.ok()) return recomputed.status();
            if (*recomputed != root) {
              return absl::DataLossError(
                  "the root recomputed from the entries differs");
            }
            return absl::OkStatus();
          }};
}

AuditSource StaticSource(StaticLog& copy) {
  return {[&copy]() -> absl::StatusOr<v1::SignedCheckpoint> {
            v1::SignedCheckpoint checkpoint;
            auto note = copy.Checkpoint();
            if (!note.ok()) return note.status();
            checkpoint.set_note(*note);
            auto roots = copy.TrustRoots();
            if (!roots.ok()) return roots.status();
            for (auto& r : *roots) checkpoint.add_root_chain(std::move(r));
            return checkpoint;
          },
          [&copy](uint64_t old_size, uint64_t new_size) {
            return copy.ConsistencyProof(old_size, new_size);
          },
          [&copy](uint64_t size, const crypto::Hash& root, bool entries) {
            return entries ? copy.CheckAll(size, root, true)
                           : copy.CheckRoot(size, root);
          }};
}

struct AuditReport {
  uint64_t old_size = 0, new_size = 0;
  std::vector<crypto::Cosignature> witnesses;  // Of the current checkpoint.
  bool consistent = true;                      // With the saved checkpoint.
  std::optional<bool> entries_match;
  std::string problem;
};

int Audit(const Globals& g, const LogOptions& o) {
  auto root = LoadRoot(o.root);
  if (!root.ok()) return Usage(StrCat("--root: ", root.status().message()));
  std::optional<crypto::Checkpoint> saved;
  std::string saved_text;
  if (!o.saved.empty()) {
    auto text = ReadFileToString(o.saved);
    if (!text.ok())
      return Usage(StrCat("--checkpoint: ", text.status().message()));
    saved_text = *std::move(text);
  }
  RegistryClient client(g.server, g.token, g.channel);
  StaticLog copy(HttpStaticFetcher(o.log_url));
  const AuditSource source =
      o.log_url.empty() ? RegistrySource(client) : StaticSource(copy);
  auto current = source.checkpoint();
  if (!current.ok()) return Fail(current.status());
  auto newest = CurrentRoot(*root, *current);
  if (!newest.ok()) return Fail(newest.status());
  if (!o.saved.empty()) {
    // Saved by this auditor after verifying it: a key retired since still
    // counts for it.
    auto verified = crypto::VerifySavedCheckpoint(saved_text, *newest);
    if (!verified.ok()) {
      return Usage(StrCat("--checkpoint: ", verified.status().message()));
    }
    saved = *verified;
  }
  auto now =
      crypto::VerifyRootCheckpoint(current->note(), *newest, absl::Now());
  if (!now.ok()) return Fail(now.status());
  AuditReport report;
  report.new_size = now->size;
  // Which of the root's witnesses vouch for it; fewer than its policy asks
  // fails the audit.
  auto witnesses = crypto::CheckWitnessPolicy(current->note(), *newest);
  if (!witnesses.ok()) return Fail(witnesses.status());
  report.witnesses = *std::move(witnesses);
  // From a static copy, the tiles must rebuild the signed root (all of
  // them with --entries): a copy is only as good as its tiles.
  if (!o.log_url.empty() || o.entries) {
    auto tree = source.check_tree(now->size, now->root, o.entries);
    if (o.entries) report.entries_match = tree.ok();
    if (absl::IsDataLoss(tree)) {
      report.consistent = !o.log_url.empty() ? false : report.consistent;
      report.problem = std::string(tree.message());
    } else if (!tree.ok()) {
      return Fail(tree);
    }
  }
  if (saved) report.old_size = saved->size;
  if (saved && report.problem.empty()) {
    if (saved->size > now->size) {
      report.consistent = false;
      report.problem = "the log shrank: the saved checkpoint is larger";
    } else if (saved->size == now->size || saved->size == 0) {
      report.consistent = saved->size == 0 || saved->root == now->root;
      if (!report.consistent) report.problem = "same size, different root";
    } else {
      auto proof = source.consistency(saved->size, now->size);
      if (absl::IsDataLoss(proof.status())) {
        report.consistent = false;
        report.problem = std::string(proof.status().message());
      } else if (!proof.ok()) {
        return Fail(proof.status());
      } else {
        report.consistent = crypto::VerifyConsistency(
            saved->size, now->size, saved->root, now->root, *proof);
      }
      if (!report.consistent && report.problem.empty()) {
        report.problem =
            "the consistency proof fails: the log rewrote its history (a fork)";
      }
    }
  }
  const bool ok = report.consistent && report.entries_match.value_or(true);
  if (ok && !o.save.empty()) {
    std::ofstream(o.save, std::ios::trunc) << current->note();
  }
  if (g.json) {
    Json j = {{"ok", ok},
              {"old_size", report.old_size},
              {"new_size", report.new_size},
              {"consistent", report.consistent}};
    if (report.entries_match) j["entries_match"] = *report.entries_match;
    Json witnesses = Json::array();
    for (const auto& w : report.witnesses) {
      witnesses.push_back(
          {{"name", w.name},
           {"time", absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", w.time,
                                     absl::UTCTimeZone())}});
    }
    j["witnesses"] = witnesses;
    if (!ok) j["problem"] = report.problem;
    std::cout << j.dump() << "\n";
  } else if (ok) {
    std::cout << "log " << root->origin << ": OK, " << now->size << " entries";
    if (saved) std::cout << ", consistent with the saved " << saved->size;
    if (!o.log_url.empty()) {
      std::cout << ", read from " << o.log_url
                << (o.entries
                        ? ": every tile and entry bundle rebuilds its root"
                        : ": its tiles rebuild the signed root");
    } else if (report.entries_match) {
      std::cout << ", root recomputed from entries";
    }
    std::cout << "\n";
    if (!newest->witnesses.empty()) {
      std::cout << "witnessed by: "
                << (report.witnesses.empty()
                        ? "none of the root's witnesses"
                        : crypto::CosignerNames(report.witnesses))
                << "\n";
    }
  } else {
    std::cout << "log " << root->origin << ": INCONSISTENT: " << report.problem
              << "\n";
  }
  return ok ? kOk : kFailed;
}

}  // namespace

void AddLogCommands(CLI::App& log, Globals& g, RunSlot& run) {
  log.require_subcommand(1);
  auto o = std::make_shared<LogOptions>();
  auto* checkpoint =
      log.add_subcommand("checkpoint", "print the newest signed checkpoint");
  checkpoint->add_option("--root", o->root, "verify it with this trust root");
  checkpoint->add_option("-o,--output", o->output, "also save it here");
  checkpoint->callback(
      [&g, &run, o] { run = [&g, o] { return ShowCheckpoint(g, *o); }; });

  auto* audit = log.add_subcommand(
      "audit",
      "check the current checkpoint against the trust root, its consistency "
      "with a checkpoint saved earlier, and (--entries) the root recomputed "
      "from every entry");
  audit->add_option("--root", o->root, "the trust root you hold")->required();
  audit->add_option("--checkpoint", o->saved,
                    "a checkpoint saved earlier (e.g. by --save)");
  audit->add_option("--save", o->save,
                    "save the current checkpoint here when all is well");
  audit->add_flag("--entries", o->entries,
                  "download every entry and recompute the root (with "
                  "--log-url: every tile and entry bundle)");
  audit->add_option("--log-url", o->log_url,
                    "read the log from its static copy (C2SP tiles in a "
                    "bucket or behind a CDN) at this URL, not the registry");
  audit->callback([&g, &run, o] { run = [&g, o] { return Audit(g, *o); }; });
}

}  // namespace loupe::client
