#include "client/verify.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "base/file.h"
#include "base/str_cat.h"
#include "client/format.h"
#include "client/verify_evidence.h"
#include "crypto/bundle.h"
#include "crypto/certificate.h"
#include "crypto/json_limits.h"
#include "crypto/log_entry.h"
#include "crypto/piece_status.h"
#include "crypto/sha256.h"
#include "crypto/witness_policy.h"

namespace loupe::client {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

absl::StatusOr<std::string> HashFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(StrCat(path, ": cannot read"));
  crypto::Sha256 hasher;
  std::string buffer(1 << 20, '\0');
  while (in.read(buffer.data(), buffer.size()) || in.gcount() > 0) {
    hasher.Update(buffer.data(), static_cast<size_t>(in.gcount()));
  }
  return crypto::ToHex(hasher.Finish());
}

absl::StatusOr<std::vector<crypto::HeldFile>> HeldFiles(
    const VerifyOptions& o) {
  std::vector<std::string> paths = o.files;
  if (!o.dir.empty()) {
    std::error_code ec;
    std::vector<std::string> found;
    for (auto it = fs::recursive_directory_iterator(o.dir, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_regular_file()) found.push_back(it->path().string());
    }
    if (ec) return absl::NotFoundError(StrCat(o.dir, ": ", ec.message()));
    std::sort(found.begin(), found.end());
    paths.insert(paths.end(), found.begin(), found.end());
  }
  std::vector<crypto::HeldFile> files;
  for (const auto& path : paths) {
    auto sha = HashFile(path);
    if (!sha.ok()) return sha.status();
    files.push_back({path, *sha});
  }
  return files;
}

struct BundleResult {
  std::string path;
  absl::Status status;
  std::optional<crypto::VerifiedCertificate> certificate;
  crypto::FileReport files;
  std::optional<crypto::LogProof> log;
  // The trust root's witnesses that cosigned the log's checkpoint.
  std::vector<crypto::Cosignature> witnesses;
  size_t root_witnesses = 0;  // How many the root lists.
  std::optional<crypto::PieceStatusFacts> piece_status;
  bool status_online = false;
  bool log_online = false;  // The log proof was fetched (--online).
  // The checks the version cites, verified (verify_evidence.h).
  std::vector<VerifiedEvidence> evidence;
  bool log_static = false;  // ... rebuilt from the log's static copy.
};

std::string Days(absl::Duration d) {
  const int64_t hours = absl::ToInt64Hours(d);
  if (hours < 48) return StrCat(hours, " h");
  return StrCat(hours / 24, " days");
}

std::string Upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(c));
  return s;
}

// Checks that the certificate's entry is in the signed log.
absl::Status CheckLog(const crypto::Bundle& bundle,
                      const crypto::VerifiedCertificate& certificate,
                      const crypto::TrustRoot& root, const VerifyOptions& o,
                      BundleResult* result) {
  if (!bundle.log) {
    if (o.allow_unlogged) return absl::OkStatus();
    return absl::UnauthenticatedError(
        "bundle.log: missing; nothing shows this certificate was logged "
        "(fetch the bundle again with `loupe cert get`)");
  }
  const auto& p = certificate.statement.predicate;
  const std::string entry = crypto::CertificateLogEntry(
      bundle.certificate.payload, p.value("piece_id", ""),
      p.value("version", 0u));
  auto checkpoint = crypto::VerifyLogInclusion(entry, *bundle.log, root, o.now);
  if (!checkpoint.ok() && !o.static_log_proof) return checkpoint.status();
  crypto::LogProof proof = *bundle.log;
  if (o.static_log_proof) {
    // The copy's proof replaces the held one once it verifies the same way.
    std::optional<crypto::Checkpoint> held;
    if (checkpoint.ok()) held = *checkpoint;
    auto fresh = o.static_log_proof(bundle.log->index, held, entry);
    if (!fresh.ok()) {
      return absl::Status(fresh.status().code(),
                          StrCat("--log-url: ", fresh.status().message()));
    }
    auto verified = crypto::VerifyLogInclusion(entry, *fresh, root, o.now);
    if (!verified.ok()) {
      return absl::Status(verified.status().code(),
                          StrCat("--log-url: ", verified.status().message()));
    }
    proof = *std::move(fresh);
    result->log_online = true;
    result->log_static = true;
  }
  // The root's witness policy: k of its witnesses cosigned the checkpoint.
  auto witnesses = crypto::CheckWitnessPolicy(proof.checkpoint, root);
  if (!witnesses.ok()) return witnesses.status();
  result->witnesses = *std::move(witnesses);
  result->root_witnesses = root.witnesses.size();
  result->log = std::move(proof);
  return absl::OkStatus();
}

// Fetches the piece's status (--online) and checks what a replaying or
// lying server could get wrong: the signature, freshness, and that it is
// not older in sequence than the statement the bundle already carries.
absl::StatusOr<crypto::PieceStatusFacts> FetchStatus(
    const VerifyOptions& o, const std::string& piece_id,
    const std::optional<crypto::PieceStatusFacts>& stapled,
    const crypto::TrustRoot& root) {
  auto fetched = o.fetch_status(piece_id);
  if (!fetched.ok()) {
    return absl::UnavailableError(StrCat("--online: cannot fetch the status: ",
                                         fetched.status().message()));
  }
  auto envelope = crypto::EnvelopeFromJson(*fetched);
  if (!envelope.ok()) return envelope.status();
  auto facts = crypto::VerifyPieceStatus(*envelope, root);
  if (!facts.ok()) return facts.status();
  const absl::Duration limit = o.max_status_age.value_or(o.online_max_age);
  const absl::Duration age = o.now - facts->as_of;
  if (age > limit || age < -absl::Minutes(5)) {
    return absl::UnauthenticatedError(
        StrCat("--online: the registry's status statement is dated ",
               absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", facts->as_of,
                                absl::UTCTimeZone()),
               ", not within ", absl::FormatDuration(limit),
               " of now: a replayed or stale answer, not trusted"));
  }
  if (stapled && facts->status_sequence < stapled->status_sequence) {
    return absl::UnauthenticatedError(StrCat(
        "--online: the registry's status (", facts->status, ", sequence ",
        facts->status_sequence, ") is older than the one this bundle carries (",
        stapled->status, ", sequence ", stapled->status_sequence,
        "): a replayed answer, not trusted"));
  }
  return facts;
}

// Judges the piece's status statement: fetched (--online) or stapled.
absl::Status CheckStatus(const crypto::Bundle& bundle,
                         const crypto::VerifiedCertificate& certificate,
                         const crypto::TrustRoot& root, const VerifyOptions& o,
                         BundleResult* result) {
  const std::string piece_id =
      certificate.statement.predicate.value("piece_id", "");
  std::optional<crypto::PieceStatusFacts> stapled;
  if (bundle.status) {
    auto facts = crypto::VerifyPieceStatus(*bundle.status, root);
    if (!facts.ok()) return facts.status();
    if (facts->piece_id != piece_id) {
      return absl::UnauthenticatedError(StrCat(
          "status: is about piece ", facts->piece_id, ", not ", piece_id));
    }
    stapled = *std::move(facts);
  }
  std::optional<crypto::PieceStatusFacts> facts = stapled;
  if (o.fetch_status) {
    auto fetched = FetchStatus(o, piece_id, stapled, root);
    if (!fetched.ok()) return fetched.status();
    facts = *std::move(fetched);
    result->status_online = true;
  }
  if (!facts) {
    if (!o.max_status_age) return absl::OkStatus();
    return absl::FailedPreconditionError(
        "status: none stapled, and --max-status-age asks for one (fetch "
        "with `loupe cert get --staple-status`, or verify --online)");
  }
  if (facts->piece_id != piece_id) {
    return absl::UnauthenticatedError(
        StrCat("status: is about piece ", facts->piece_id, ", not ", piece_id));
  }
  result->piece_status = *facts;
  const absl::Duration age = o.now - facts->as_of;
  if (o.max_status_age && age > *o.max_status_age) {
    return absl::FailedPreconditionError(
        StrCat("status: the statement is ", Days(age), " old (as of ",
               absl::FormatTime("%Y-%m-%d", facts->as_of, absl::UTCTimeZone()),
               "); --max-status-age allows ", Days(*o.max_status_age)));
  }
  if (facts->status != "active") {
    return absl::PermissionDeniedError(
        StrCat("piece ", Upper(facts->status), ": ", facts->reason, " (by ",
               facts->changed_by, ", status as of ",
               absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", facts->as_of,
                                absl::UTCTimeZone()),
               ")"));
  }
  return absl::OkStatus();
}

// The bundle file's bytes, refused before reading when larger than any
// bundle may be (crypto/json_limits.h), so a huge file costs no memory.
absl::StatusOr<std::string> ReadBundleFile(const std::string& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (!ec && size > crypto::kMaxJsonBytes) {
    return absl::InvalidArgumentError(
        StrCat("bundle: ", size, " bytes, more than any bundle (",
               crypto::kMaxJsonBytes >> 20, " MiB)"));
  }
  return ReadFileToString(path);
}

// --online: replaces the held log proof and root chain with the registry's
// current ones (after a key rotation the held checkpoint may be vouched for
// only by a retired key). The fresh bundle must hold the same certificate;
// what it brings is then checked like anything else in a bundle.
absl::Status Refresh(const VerifyOptions& o, crypto::Bundle* bundle) {
  const std::string id = crypto::CertificateId(bundle->certificate.payload);
  auto text = o.fetch_bundle(id);
  if (!text.ok()) {
    return absl::UnavailableError(
        StrCat("--online: cannot fetch ", id, ": ", text.status().message()));
  }
  auto fresh = crypto::ParseBundle(*text);
  if (!fresh.ok()) {
    return absl::UnauthenticatedError(
        StrCat("--online: the registry's bundle: ", fresh.status().message()));
  }
  if (fresh->certificate.payload != bundle->certificate.payload) {
    return absl::UnauthenticatedError(StrCat(
        "--online: the registry answered with another certificate than ", id));
  }
  bundle->roots = std::move(fresh->roots);
  if (fresh->log) bundle->log = std::move(fresh->log);
  if (!fresh->evidence.empty()) bundle->evidence = std::move(fresh->evidence);
  return absl::OkStatus();
}

BundleResult CheckBundle(const std::string& path, const crypto::TrustRoot& root,
                         const std::vector<crypto::HeldFile>& files,
                         const VerifyOptions& o) {
  BundleResult result;
  result.path = path;
  auto text = ReadBundleFile(path);
  auto bundle = text.ok() ? crypto::ParseBundle(*text)
                          : absl::StatusOr<crypto::Bundle>(text.status());
  if (!bundle.ok()) {
    result.status = bundle.status();
    return result;
  }
  if (o.fetch_bundle) {
    if (auto s = Refresh(o, &*bundle); !s.ok()) {
      result.status = s;
      return result;
    }
    result.log_online = true;
  }
  if (o.static_roots) {
    // The copy's roots after the bundle's: known versions are skipped,
    // newer ones verified by the ones before.
    auto roots = o.static_roots();
    for (const auto& text : roots.ok() ? *roots : std::vector<std::string>()) {
      auto envelope = crypto::EnvelopeFromJson(text);
      if (envelope.ok()) bundle->roots.push_back(*std::move(envelope));
    }
  }
  auto newest = crypto::FollowRoots(root, bundle->roots);
  if (!newest.ok()) {
    result.status = newest.status();
    return result;
  }
  auto certificate = crypto::VerifyCertificate(bundle->certificate, *newest);
  if (!certificate.ok()) {
    result.status = certificate.status();
    return result;
  }
  result.files = crypto::MatchFiles(certificate->statement, files);
  result.certificate = *std::move(certificate);
  result.status = CheckLog(*bundle, *result.certificate, *newest, o, &result);
  if (result.status.ok()) {
    auto evidence = VerifyEvidence(*bundle, *result.certificate, *newest, o.now,
                                   o.allow_unlogged);
    result.status = evidence.status();
    if (evidence.ok()) result.evidence = *std::move(evidence);
  }
  if (result.status.ok()) {
    result.status =
        CheckStatus(*bundle, *result.certificate, *newest, o, &result);
  }
  return result;
}

std::string Describe(const crypto::VerifiedCertificate& c) {
  const Json& p = c.statement.predicate;
  std::string facts;
  if (p.contains("piece_id"))
    facts += StrCat("piece ", p.value("piece_id", ""));
  if (p.contains("version")) facts += StrCat(" version ", p["version"].dump());
  if (p.contains("studio_id"))
    facts += StrCat(", studio ", p.value("studio_id", ""));
  return StrCat(facts, facts.empty() ? "" : ", ", "issued ",
                p.value("issued_at", ""), " by key ", c.keyid.substr(0, 16));
}

void PrintText(const std::vector<BundleResult>& results,
               const std::vector<crypto::HeldFile>& files,
               const std::vector<bool>& matched, bool all_files,
               std::ostream& out) {
  // What came from a bundle (a status reason in a message, names) is
  // escaped: it must not drive the terminal (TerminalSafe).
  for (const auto& r : results) {
    if (!r.status.ok()) {
      out << r.path
          << ": INVALID: " << TerminalSafe(std::string(r.status.message()))
          << "\n";
      continue;
    }
    out << r.path << ": VALID: " << TerminalSafe(Describe(*r.certificate))
        << "\n";
    if (r.log) {
      out << "  logged: entry " << r.log->index << " of the signed tree of "
          << r.log->tree_size << " entries"
          << (r.log_static   ? " (proof rebuilt from the log's static copy)"
              : r.log_online ? " (proof fetched online)"
                             : "")
          << "\n";
      if (r.root_witnesses > 0) {
        out << "  witnessed by: "
            << (r.witnesses.empty() ? "none of the root's witnesses"
                                    : crypto::CosignerNames(r.witnesses))
            << "\n";
      }
    }
    PrintEvidence(r.evidence, out);
    if (r.piece_status) {
      out << "  status: " << r.piece_status->status << " as of "
          << absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", r.piece_status->as_of,
                              absl::UTCTimeZone())
          << (r.status_online ? " (fetched online)" : " (stapled)") << "\n";
    } else {
      out << "  status: not checked (none stapled; see --online)\n";
    }
    for (const auto& [file, subject] : r.files.files) {
      if (subject) {
        out << "  " << file.path << ": matches " << TerminalSafe(*subject)
            << "\n";
      }
    }
    for (const auto& s : r.files.missing) {
      out << "  " << (all_files ? "MISSING: " : "") << "no file given for "
          << TerminalSafe(s.name) << " (sha256 " << TerminalSafe(s.sha256)
          << ")\n";
    }
  }
  for (size_t i = 0; i < files.size(); ++i) {
    if (!matched[i]) {
      out << files[i].path << ": MATCHES NO SUBJECT (sha256 " << files[i].sha256
          << ")\n";
    }
  }
}

Json ToJson(const std::vector<BundleResult>& results,
            const std::vector<crypto::HeldFile>& files,
            const std::vector<bool>& matched, bool valid) {
  Json bundles = Json::array();
  for (const auto& r : results) {
    Json b = {{"path", r.path}, {"valid", r.status.ok()}};
    if (!r.status.ok()) {
      b["error"] = std::string(r.status.message());
    } else {
      b["keyid"] = r.certificate->keyid;
      b["predicate"] = r.certificate->statement.predicate;
      b["complete"] = r.files.complete;
      b["evidence"] = EvidenceJson(r.evidence);
      if (r.log) {
        Json witnesses = Json::array();
        for (const auto& w : r.witnesses) {
          witnesses.push_back(
              {{"name", w.name},
               {"time", absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", w.time,
                                         absl::UTCTimeZone())}});
        }
        b["log"] = {{"index", r.log->index},
                    {"tree_size", r.log->tree_size},
                    {"online", r.log_online},
                    {"static_copy", r.log_static},
                    {"witnesses", witnesses}};
      }
      if (r.piece_status) {
        b["piece_status"] = {{"status", r.piece_status->status},
                             {"reason", r.piece_status->reason},
                             {"as_of", absl::FormatTime("%Y-%m-%dT%H:%M:%SZ",
                                                        r.piece_status->as_of,
                                                        absl::UTCTimeZone())},
                             {"online", r.status_online}};
      }
      Json missing = Json::array();
      for (const auto& s : r.files.missing) {
        missing.push_back({{"name", s.name}, {"sha256", s.sha256}});
      }
      b["missing"] = missing;
    }
    bundles.push_back(std::move(b));
  }
  Json held = Json::array();
  for (size_t i = 0; i < files.size(); ++i) {
    held.push_back({{"path", files[i].path},
                    {"sha256", files[i].sha256},
                    {"matched", static_cast<bool>(matched[i])}});
  }
  return {{"valid", valid}, {"bundles", bundles}, {"files", held}};
}

}  // namespace

absl::StatusOr<absl::Duration> ParseAge(std::string_view text) {
  int64_t n = 0;
  size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) &&
         i < 9) {
    n = n * 10 + (text[i++] - '0');
  }
  if (i == 0 || i + 1 != text.size()) {
    return absl::InvalidArgumentError(
        StrCat("\"", text, "\" is not an age like 30d, 12h, 90m, 45s or 2w"));
  }
  switch (text[i]) {
    case 's':
      return absl::Seconds(n);
    case 'm':
      return absl::Minutes(n);
    case 'h':
      return absl::Hours(n);
    case 'd':
      return absl::Hours(24 * n);
    case 'w':
      return absl::Hours(24 * 7 * n);
  }
  return absl::InvalidArgumentError(
      StrCat("\"", text, "\": the unit is one of s, m, h, d, w"));
}

bool LooksLikeBundle(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string head(256, '\0');
  in.read(head.data(), head.size());
  head.resize(static_cast<size_t>(in.gcount()));
  size_t i = head.find_first_not_of(" \t\r\n");
  if (i == std::string::npos || head[i] != '{') return false;
  i = head.find_first_not_of(" \t\r\n", i + 1);
  return i != std::string::npos && head.compare(i, 13, "\"certificate\"") == 0;
}

int RunVerify(const VerifyOptions& options, std::ostream& out,
              std::ostream& err) {
  VerifyOptions o = options;
  // The first argument is a bundle (the syntax needs one); the others are
  // bundles if they start like one, else files to check.
  for (size_t i = 0; i < options.arguments.size(); ++i) {
    const std::string& arg = options.arguments[i];
    (i == 0 || LooksLikeBundle(arg) ? o.bundles : o.files).push_back(arg);
  }
  if (o.bundles.empty()) {
    err << "loupe: verify: no certificate bundle given (see --help)\n";
    return 2;
  }
  auto root_text = ReadFileToString(o.root);
  if (!root_text.ok()) {
    err << "loupe: --root: " << root_text.status().message() << "\n";
    return 2;
  }
  auto envelope = crypto::EnvelopeFromJson(*root_text);
  auto root = envelope.ok()
                  ? crypto::VerifyInitialRoot(*envelope)
                  : absl::StatusOr<crypto::TrustRoot>(envelope.status());
  if (!root.ok()) {
    err << "loupe: --root " << o.root << ": " << root.status().message()
        << "\n";
    return 2;
  }
  auto files = HeldFiles(o);
  if (!files.ok()) {
    err << "loupe: " << files.status().message() << "\n";
    return 2;
  }
  std::vector<BundleResult> results;
  std::vector<bool> matched(files->size(), false);
  bool valid = true;
  for (const auto& path : o.bundles) {
    results.push_back(CheckBundle(path, *root, *files, o));
    valid = valid && results.back().status.ok();
    for (size_t i = 0; i < results.back().files.files.size(); ++i) {
      if (results.back().files.files[i].second) matched[i] = true;
    }
  }
  for (bool m : matched) valid = valid && m;
  if (o.all_files) {
    for (const auto& r : results) valid = valid && r.files.missing.empty();
  }
  if (o.json) {
    out << ToJson(results, *files, matched, valid).dump() << "\n";
  } else {
    PrintText(results, *files, matched, o.all_files, out);
  }
  return valid ? 0 : 1;
}

}  // namespace loupe::client
