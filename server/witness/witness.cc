#include "server/witness/witness.h"

#include <iostream>
#include <set>

#include "absl/time/clock.h"
#include "base/str_cat.h"
#include "crypto/checkpoint.h"
#include "crypto/cosignature.h"
#include "crypto/merkle.h"

namespace loupe::witness {
namespace {

using server::http::Request;
using server::http::Response;

constexpr char kAddRoute[] = "/add-checkpoint";

Response Answer(int status, std::string body, std::string route = kAddRoute) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  r.route = std::move(route);
  return r;
}

// A Prometheus label value (origins are key names: no spaces or newlines,
// but maybe a backslash or a quote).
std::string Label(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') out += '\\';
    out += c;
  }
  return out;
}

bool IsLowerHex(std::string_view s) {
  return s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Witness>> Witness::Create(
    Options options, crypto::SigningKey key) {
  if (!crypto::ValidKeyName(options.name)) {
    return absl::InvalidArgumentError(
        "name: a key name such as witness.example/w1 (no spaces or \"+\")");
  }
  if (options.logs.empty()) {
    return absl::InvalidArgumentError("logs: the witness follows no log");
  }
  std::set<std::string> origins;
  for (const auto& log : options.logs) {
    if (!crypto::ValidKeyName(log.origin) || log.keys.empty()) {
      return absl::InvalidArgumentError(StrCat(
          "logs: \"", log.origin,
          "\" needs an origin without spaces or \"+\" and at least one key"));
    }
    if (!origins.insert(log.origin).second) {
      return absl::InvalidArgumentError(
          StrCat("logs: ", log.origin, " is listed twice"));
    }
  }
  if (options.state == nullptr) {
    return absl::InvalidArgumentError("state_dir: required");
  }
  if (!options.clock) options.clock = [] { return absl::Now(); };
  return std::unique_ptr<Witness>(
      new Witness(std::move(options), std::move(key)));
}

Response Witness::Handle(const Request& request) const {
  const std::string_view target = request.target;
  const std::string_view path = target.substr(0, target.find('?'));
  Response r;
  if (path == kAddRoute) {
    if (request.method != "POST") {
      r = Answer(405, "add-checkpoint: POST only\n");
      r.headers.push_back({"Allow", "POST"});
      return r;
    }
    return AddCheckpoint(request.body);
  }
  if (request.method != "GET") {
    r = Answer(405, "GET only\n", "(method)");
    r.headers.push_back({"Allow", "GET"});
    return r;
  }
  if (path == "/healthz") return Answer(200, "ok\n", "/healthz");
  if (path == "/metrics") return Metrics();
  // /<64 hex>/checkpoint: the monitoring API.
  if (path.size() == 1 + 64 + 11 && path.ends_with("/checkpoint") &&
      IsLowerHex(path.substr(1, 64))) {
    return Monitor(path.substr(1, 64));
  }
  return Answer(404, StrCat("no such page: ", path, "\n"), "(not found)");
}

Response Witness::AddCheckpoint(std::string_view body) const {
  auto request = crypto::ParseAddCheckpoint(body);
  if (!request.ok()) {
    return Answer(400,
                  StrCat("add-checkpoint: ", request.status().message(), "\n"));
  }
  auto note = crypto::ParseSignedNote(request->checkpoint);
  auto next = note.ok() ? crypto::ParseCheckpointBody(note->body)
                        : absl::StatusOr<crypto::Checkpoint>(note.status());
  if (!next.ok()) {
    return Answer(400, StrCat("checkpoint: ", next.status().message(), "\n"));
  }
  const WitnessedLog* log = nullptr;
  for (const auto& l : options_.logs) {
    if (l.origin == next->origin) log = &l;
  }
  if (log == nullptr) {
    return Answer(404, StrCat("unknown log: ", next->origin, "\n"));
  }
  auto signers = crypto::VerifyNoteSigners(*note, log->origin, log->keys);
  if (!signers.ok()) {
    return Answer(403, StrCat(signers.status().message(), "\n"));
  }
  if (request->old_size > next->size) {
    return Answer(
        400, StrCat("old size ", request->old_size,
                    " is larger than the checkpoint's ", next->size, "\n"));
  }
  // What is kept and shown to monitors: the body, the log's signatures
  // that verified, and this witness's cosignature (added after the checks).
  std::string verified = note->body + "\n";
  for (const auto& line : *signers) {
    verified += crypto::FormatNoteSignature(line);
  }
  return CheckAndCosign(log->origin, request->old_size, request->proof, *next,
                        verified);
}

Response Witness::CheckAndCosign(const std::string& origin, uint64_t old_size,
                                 const std::vector<crypto::Hash>& proof,
                                 const crypto::Checkpoint& next,
                                 const std::string& verified_note) const {
  std::lock_guard lock(mu_);
  auto answer = [&](int status, std::string text) {
    ++answers_[{origin, status}];
    if (status == 422) {  // Proof of a misbehaving log: keep it in the log.
      std::cerr << "loupe-server witness: REFUSED a checkpoint of " << origin
                << " of size " << next.size << ": " << text
                << "The checkpoint, validly signed by the log:\n"
                << verified_note << std::flush;
    }
    return Answer(status, std::move(text));
  };
  auto stored = options_.state->Load(origin);
  if (!stored.ok()) return answer(500, StrCat(stored.status().message(), "\n"));
  const uint64_t size = *stored ? (*stored)->checkpoint.size : 0;
  if (old_size != size) {
    Response r = answer(409, crypto::EncodeTlogSize(size));
    r.content_type = crypto::kTlogSizeContentType;
    return r;
  }
  if (next.size == 0 && next.root != crypto::EmptyTreeHash()) {
    return answer(422, "a tree of size 0 must have the empty tree's root\n");
  }
  if (old_size == next.size) {
    const bool same =
        proof.empty() && (!*stored || (*stored)->checkpoint.root == next.root);
    if (!same) {
      return answer(422, StrCat("a different root for size ", next.size,
                                ", which this witness cosigned: a fork\n"));
    }
  } else if (old_size == 0) {
    if (!proof.empty()) {
      return answer(422, "a consistency proof from size 0 must be empty\n");
    }
  } else if (!crypto::VerifyConsistency(old_size, next.size,
                                        (*stored)->checkpoint.root, next.root,
                                        proof)) {
    return answer(
        422, StrCat("the consistency proof from ", old_size, " to ", next.size,
                    " does not verify: the log's new tree does not "
                    "extend the one this witness cosigned (a fork)\n"));
  }
  auto line = crypto::CosignCheckpoint(crypto::CheckpointBody(next),
                                       options_.name, key_, options_.clock());
  if (!line.ok()) return answer(500, StrCat(line.status().message(), "\n"));
  if (auto s = options_.state->Save(origin, {next, verified_note + *line});
      !s.ok()) {
    return answer(500, StrCat(s.message(), "\n"));
  }
  return answer(200, *line);
}

Response Witness::Monitor(std::string_view hash) const {
  std::lock_guard lock(mu_);
  for (const auto& log : options_.logs) {
    if (WitnessState::OriginHash(log.origin) != hash) continue;
    auto stored = options_.state->Load(log.origin);
    if (!stored.ok()) {
      return Answer(500, StrCat(stored.status().message(), "\n"),
                    "/{origin}/checkpoint");
    }
    if (!*stored) break;
    Response r = Answer(200, (*stored)->note, "/{origin}/checkpoint");
    r.headers.push_back({"Cache-Control", "no-cache"});
    return r;
  }
  return Answer(404, "no checkpoint cosigned for this log\n",
                "/{origin}/checkpoint");
}

Response Witness::Metrics() const {
  std::string out = options_.metrics ? options_.metrics->Render() : "";
  out +=
      "# HELP loupe_witness_answers_total add-checkpoint answers by log and "
      "HTTP status (422: a checkpoint inconsistent with the one cosigned).\n"
      "# TYPE loupe_witness_answers_total counter\n";
  std::lock_guard lock(mu_);
  for (const auto& [key, count] : answers_) {
    out += StrCat("loupe_witness_answers_total{origin=\"", Label(key.first),
                  "\",code=\"", key.second, "\"} ", count, "\n");
  }
  Response r = Answer(200, std::move(out), "/metrics");
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  return r;
}

}  // namespace loupe::witness
