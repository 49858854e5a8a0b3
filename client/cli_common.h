#pragma once

// Shared by the `loupe` command implementations (cli*.cc).

#include <CLI/CLI.hpp>
#include <functional>
#include <iostream>
#include <string>

#include "absl/status/status.h"
#include "client/format.h"
#include "client/registry_client.h"

namespace loupe::client {

inline constexpr int kOk = 0;
inline constexpr int kFailed = 1;
inline constexpr int kUsage = 2;

// Options every command takes.
struct Globals {
  std::string server = "127.0.0.1:7400";
  std::string token;
  bool json = false;
  // TLS or --plaintext: the environment's settings, then the flags'.
  ChannelOptions channel = ChannelOptions::FromEnvironment();
};

// Prints "loupe: CODE: message" and returns kFailed.
inline int Fail(const absl::Status& s) {
  std::cerr << "loupe: " << absl::StatusCodeToString(s.code()) << ": "
            << s.message() << "\n";
  return kFailed;
}

inline int Usage(const std::string& message) {
  std::cerr << "loupe: " << message << " (see --help)\n";
  return kUsage;
}

// The chosen command, set by a subcommand's callback and run after parsing.
using RunSlot = std::function<int()>;

// `loupe status`, `loupe owner` and `loupe log` (cli_status.cc).
void AddStatusCommands(CLI::App& app, Globals& g, RunSlot& run);
void AddOwnerCommands(CLI::App& app, Globals& g, RunSlot& run);
void AddLogCommands(CLI::App& app, Globals& g, RunSlot& run);
void AddAdminCommands(CLI::App& app, Globals& g, RunSlot& run);
// `loupe cert` (cli_cert.cc).
void AddCertCommands(CLI::App& app, Globals& g, RunSlot& run);
// `loupe geometry` (cli_geometry.cc).
void AddGeometryCommands(CLI::App& app, Globals& g, RunSlot& run);

}  // namespace loupe::client
