#include "client/format.h"

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

#include <cstdio>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "base/str_cat.h"
#include "base/utf8.h"

namespace loupe::client {
namespace {

using google::protobuf::util::TimeUtil;

std::string Time(const google::protobuf::Timestamp& t) {
  return TimeUtil::ToString(t);
}

// The enum's common prefix: PIECE_KIND_ for PieceKind.
std::string Prefix(const google::protobuf::EnumDescriptor* d) {
  std::string name = d->value(0)->name();  // *_UNSPECIFIED
  const auto pos = name.rfind("UNSPECIFIED");
  return pos == std::string::npos ? "" : name.substr(0, pos);
}

void AppendEscape(std::string* out, const char* format, unsigned value) {
  char escape[16];
  std::snprintf(escape, sizeof(escape), format, value);
  out->append(escape);
}

}  // namespace

std::string TerminalSafe(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    const size_t start = pos;
    const std::optional<char32_t> c = DecodeUtf8(text, &pos);
    if (!c) {  // Not UTF-8: one byte, as a hex escape.
      AppendEscape(&out, "\\x%02x", static_cast<unsigned char>(text[start]));
    } else if (IsTerminalControl(*c)) {
      AppendEscape(&out, *c < 0x80 ? "\\x%02x" : "\\u%04x",
                   static_cast<unsigned>(*c));
    } else {
      out.append(text.substr(start, pos - start));
    }
  }
  return out;
}

std::string ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  return out;
}

absl::Status FromJson(const std::string& json,
                      google::protobuf::Message* message) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto s = google::protobuf::util::JsonStringToMessage(json, message, options);
  if (!s.ok()) return absl::InvalidArgumentError(std::string(s.message()));
  return absl::OkStatus();
}

std::string ShortName(const google::protobuf::EnumDescriptor* d, int value) {
  const auto* v = d->FindValueByNumber(value);
  if (v == nullptr) return std::to_string(value);
  std::string name = v->name().substr(Prefix(d).size());
  absl::AsciiStrToLower(&name);
  for (char& c : name) c = c == '_' ? '-' : c;
  return name;
}

bool ParseShortName(const google::protobuf::EnumDescriptor* d, std::string text,
                    int* value) {
  absl::AsciiStrToUpper(&text);
  for (char& c : text) c = c == '-' ? '_' : c;
  const auto* v = d->FindValueByName(Prefix(d) + text);
  if (v == nullptr) v = d->FindValueByName(text);
  if (v == nullptr || v->number() == 0) return false;
  *value = v->number();
  return true;
}

std::string ShortNames(const google::protobuf::EnumDescriptor* d) {
  std::vector<std::string> names;
  for (int i = 1; i < d->value_count(); ++i) {
    names.push_back(ShortName(d, d->value(i)->number()));
  }
  return absl::StrJoin(names, ", ");
}

void PrintPiece(std::ostream& out, const v1::Piece& p) {
  out << "piece     " << p.id() << "\n"
      << "studio    " << p.studio_id() << " (reference "
      << TerminalSafe(p.studio_reference()) << ")\n"
      << "kind      " << ShortName(v1::PieceKind_descriptor(), p.kind())
      << "\n";
  if (!p.title().empty()) {
    out << "title     " << TerminalSafe(p.title()) << "\n";
  }
  if (!p.gtin().empty()) {
    out << "gtin      " << TerminalSafe(p.gtin())
        << (p.serial().empty() ? "" : " serial ") << TerminalSafe(p.serial())
        << "\n";
  }
  out << "created   " << Time(p.created_at()) << "\n"
      << "version   " << p.current_version() << "\n"
      << "status    " << ShortName(v1::PieceStatus_descriptor(), p.status())
      << "\n";
  if (p.asset_readers_size() > 0) {
    out << "readers   " << absl::StrJoin(p.asset_readers(), ", ") << "\n";
  }
  if (p.insurers_size() > 0) {
    out << "insurers  " << absl::StrJoin(p.insurers(), ", ") << "\n";
  }
}

void PrintPieceLine(std::ostream& out, const v1::Piece& p) {
  out << p.id() << "  " << p.studio_id() << "  "
      << TerminalSafe(p.studio_reference()) << "  "
      << ShortName(v1::PieceKind_descriptor(), p.kind()) << "  v"
      << p.current_version() << "\n";
}

void PrintVersion(std::ostream& out, const v1::TwinVersion& v) {
  out << "version   " << v.number() << " of " << v.piece_id() << " (parent "
      << v.parent_number() << ", "
      << ShortName(v1::VersionReason_descriptor(), v.reason()) << ")\n"
      << "created   " << Time(v.created_at()) << " by " << v.author() << "\n";
  if (!v.note().empty()) out << "note      " << TerminalSafe(v.note()) << "\n";
  if (v.has_ring_size()) {
    out << "ring size "
        << ShortName(v1::RingSizeSystem_descriptor(), v.ring_size().system())
        << " " << v.ring_size().value();
    if (v.ring_size().inner_diameter_mm() > 0) {
      out << " (" << v.ring_size().inner_diameter_mm() << " mm)";
    }
    out << "\n";
  }
  if (v.has_assay()) {
    out << "assay     " << TerminalSafe(v.assay().alloy()) << ", "
        << v.assay().fineness_per_mille() << " per mille";
    if (!v.assay().laboratory().empty())
      out << " (" << TerminalSafe(v.assay().laboratory()) << ")";
    out << "\n";
  }
  out << "facts     " << v.hallmarks_size() << " hallmark(s), "
      << v.stones_size() << " stone(s), " << v.production_size()
      << " production step(s)\n"
      << "assets    " << v.assets_size() << "\n";
  for (const auto& a : v.assets()) {
    out << "  " << ShortName(v1::AssetRole_descriptor(), a.role()) << "  "
        << TerminalSafe(a.file_name()) << "  " << TerminalSafe(a.media_type())
        << "  " << a.size_bytes() << " bytes  sha256:" << a.sha256() << "\n";
  }
  for (const auto& e : v.evidence()) {
    out << "evidence  " << DescribeEvidence(e) << "\n";
  }
}

std::string DescribeEvidence(const v1::CheckEvidence& e) {
  char numbers[160];
  std::snprintf(numbers, sizeof(numbers),
                " within %.3f mm: %s (largest difference %.3f mm, %.1f %% of "
                "the surface)",
                e.tolerance_um() / 1e3, e.pass() ? "PASS" : "FAIL",
                e.max_abs_nm() / 1e6, e.coverage_ppm() / 1e4);
  std::string line =
      StrCat(e.check_id(), ": ", e.purpose(), " check against version ",
             e.checked_version(), numbers, ", by ", e.checked_by(), " at ",
             e.checked_at(), ", file sha256:", e.file_sha256());
  if (!e.override_reason().empty()) {
    line +=
        StrCat("; cited anyway, the studio's reason: ", e.override_reason());
  }
  return TerminalSafe(line);
}

void PrintVersionLine(std::ostream& out, const v1::TwinVersion& v) {
  out << v.number() << "  "
      << ShortName(v1::VersionReason_descriptor(), v.reason()) << "  "
      << Time(v.created_at()) << "  " << v.author() << "  " << v.assets_size()
      << " asset(s)";
  if (!v.note().empty()) out << "  " << TerminalSafe(v.note());
  out << "\n";
}

}  // namespace loupe::client
