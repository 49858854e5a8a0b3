#include "crypto/bundle.h"

#include "absl/status/status.h"
#include "base/str_cat.h"
#include "crypto/json_limits.h"

namespace loupe::crypto {

std::string EncodeBundle(const Bundle& bundle) {
  nlohmann::json roots = nlohmann::json::array();
  for (const auto& root : bundle.roots)
    roots.push_back(EnvelopeToJsonValue(root));
  nlohmann::json json = {
      {"format", kBundleFormat},
      {"certificate", EnvelopeToJsonValue(bundle.certificate)},
      {"roots", roots}};
  if (bundle.log) json["log"] = LogProofToJson(*bundle.log);
  if (bundle.status) json["status"] = EnvelopeToJsonValue(*bundle.status);
  if (!bundle.evidence.empty()) {
    nlohmann::json evidence = nlohmann::json::array();
    for (const auto& e : bundle.evidence) {
      nlohmann::json item = {{"check", EnvelopeToJsonValue(e.check)}};
      if (e.log) item["log"] = LogProofToJson(*e.log);
      evidence.push_back(std::move(item));
    }
    json["evidence"] = std::move(evidence);
  }
  return json.dump(2) + "\n";
}

absl::StatusOr<Bundle> ParseBundle(std::string_view text) {
  auto parsed = ParseJson(text, "bundle");
  if (!parsed.ok()) return parsed.status();
  const nlohmann::json& json = *parsed;
  if (!json.is_object()) {
    return absl::InvalidArgumentError(
        "bundle: not a JSON object (not a Loupe bundle)");
  }
  if (json.value("format", "") != kBundleFormat) {
    return absl::InvalidArgumentError(
        StrCat("bundle.format: expected ", kBundleFormat));
  }
  Bundle bundle;
  auto certificate = EnvelopeFromJsonValue(
      json.value("certificate", nlohmann::json()), "bundle.certificate");
  if (!certificate.ok()) return certificate.status();
  bundle.certificate = *std::move(certificate);
  const auto roots = json.value("roots", nlohmann::json::array());
  if (!roots.is_array()) {
    return absl::InvalidArgumentError("bundle.roots: not an array");
  }
  for (size_t i = 0; i < roots.size(); ++i) {
    auto root =
        EnvelopeFromJsonValue(roots[i], StrCat("bundle.roots[", i, "]"));
    if (!root.ok()) return root.status();
    bundle.roots.push_back(*std::move(root));
  }
  if (json.contains("log")) {
    auto log = LogProofFromJson(json["log"], "bundle.log");
    if (!log.ok()) return log.status();
    bundle.log = *std::move(log);
  }
  if (json.contains("status")) {
    auto status = EnvelopeFromJsonValue(json["status"], "bundle.status");
    if (!status.ok()) return status.status();
    bundle.status = *std::move(status);
  }
  const auto evidence = json.value("evidence", nlohmann::json::array());
  if (!evidence.is_array() || evidence.size() > 64) {
    return absl::InvalidArgumentError(
        "bundle.evidence: not an array of at most 64 checks");
  }
  for (size_t i = 0; i < evidence.size(); ++i) {
    const std::string path = StrCat("bundle.evidence[", i, "]");
    if (!evidence[i].is_object()) {
      return absl::InvalidArgumentError(StrCat(path, ": not an object"));
    }
    BundleEvidence item;
    auto check = EnvelopeFromJsonValue(
        evidence[i].value("check", nlohmann::json()), StrCat(path, ".check"));
    if (!check.ok()) return check.status();
    item.check = *std::move(check);
    if (evidence[i].contains("log")) {
      auto log = LogProofFromJson(evidence[i]["log"], StrCat(path, ".log"));
      if (!log.ok()) return log.status();
      item.log = *std::move(log);
    }
    bundle.evidence.push_back(std::move(item));
  }
  return bundle;
}

}  // namespace loupe::crypto
