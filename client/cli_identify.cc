// `loupe identify SCAN`: which registered piece (and version) a scan is,
// asked of the registry (docs/geometry.md, "Identification"). Exit 0 when
// the answer is IDENTIFIED or CONSISTENT_WITH_SEVERAL, 1 for NO_MATCH or a
// failure, 2 for usage.

#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "base/file.h"
#include "client/cli_common.h"
#include "client/format.h"
#include "client/registry_client.h"

namespace loupe::client {
namespace {

struct IdentifyOptions {
  std::string path, output;
  double tolerance = 0;
};

std::string Percent(double share) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %%", share * 100);
  return buf;
}

std::string Mm(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f mm", v);
  return buf;
}

std::string StatusName(v1::PieceStatus s) {
  std::string name = v1::PieceStatus_Name(s);
  return name.substr(std::string("PIECE_STATUS_").size());
}

void PrintCandidate(const v1::IdentificationCandidate& c) {
  std::cout << "    " << c.piece_id() << " version " << c.version() << " of "
            << c.current_version() << "  " << StatusName(c.status()) << "  "
            << Percent(c.within_tolerance()) << "  rms " << Mm(c.rms_mm())
            << "  max " << Mm(c.max_abs_mm()) << "  studio " << c.studio_id()
            << (c.passes() ? "  matches" : "") << "\n";
}

void PrintIdentification(const v1::Identification& r) {
  // Lost and stolen first, loudly.
  for (const auto& a : r.alerts()) std::cout << "!!! " << a << " !!!\n";
  std::cout << r.verdict() << "\n";
  for (const auto& m : r.matches()) {
    std::cout << "  piece " << m.piece_id() << " (" << m.studio_id()
              << (m.title().empty() ? "" : ", \"" + m.title() + "\"")
              << "), status " << StatusName(m.status()) << ": best version "
              << m.version() << " (current " << m.current_version() << "), "
              << Percent(m.within_tolerance()) << " of the scan within "
              << Mm(r.tolerance_mm()) << ", RMS " << Mm(m.rms_mm()) << ", max "
              << Mm(m.max_abs_mm()) << "\n";
  }
  if (r.verdict() == "IDENTIFIED") {
    std::cout << "  margin to the runner-up: " << Percent(r.margin()) << "\n";
  }
  for (const auto& reason : r.reasons()) std::cout << "  " << reason << "\n";
  std::cout << "  candidates verified (" << r.signatures_searched()
            << " signatures searched in " << r.candidate_stage_ms() << " ms; "
            << r.total_ms() << " ms in all):\n";
  for (const auto& c : r.candidates()) PrintCandidate(c);
}

int Identify(const Globals& g, const IdentifyOptions& o) {
  auto bytes = ReadFileToString(o.path);
  if (!bytes.ok()) return Usage(std::string(bytes.status().message()));
  RegistryClient client(g.server, g.token, g.channel);
  v1::IdentifyPieceHeader header;
  header.set_tolerance_mm(o.tolerance);
  header.set_file_name(o.path);
  auto result = client.IdentifyPiece(header, *bytes);
  if (!result.ok()) return Fail(result.status());
  if (!o.output.empty() && !result->statement_json().empty()) {
    std::ofstream(o.output, std::ios::trunc)
        << result->statement_json() << "\n";
  }
  if (g.json) {
    std::cout << ToJson(*result) << "\n";
  } else {
    PrintIdentification(*result);
    if (!result->statement_json().empty()) {
      std::cout << "  signed by the registry"
                << (o.output.empty() ? "" : ", statement in " + o.output)
                << "\n";
    }
  }
  return result->verdict() == "NO_MATCH" ? kFailed : kOk;
}

}  // namespace

void AddIdentifyCommand(CLI::App& command, Globals& g, RunSlot& run) {
  auto o = std::make_shared<IdentifyOptions>();
  command.add_option("scan", o->path, "the scan (STL, OBJ or PLY)")
      ->required()
      ->check(CLI::ExistingFile);
  command.add_option("--tolerance", o->tolerance, "millimetres (default 0.1)");
  command.add_option("-o,--output", o->output,
                     "save the registry's signed statement here");
  command.callback(
      [&g, &run, o] { run = [&g, o] { return Identify(g, *o); }; });
}

}  // namespace loupe::client
