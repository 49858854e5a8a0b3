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

// Each adds a top-level command's options and subcommands to `command`
// (made by RunCli from its table of commands, cli.cc, with the command's
// name and usage line); the chosen one's callback sets `run`. `g` and
// `run` outlive `command`'s callbacks.
// `loupe piece`, `version` and `asset` (cli_piece.cc).
void AddPieceCommands(CLI::App& command, Globals& g, RunSlot& run);
void AddVersionCommands(CLI::App& command, Globals& g, RunSlot& run);
void AddAssetCommands(CLI::App& command, Globals& g, RunSlot& run);
// `loupe status` and `loupe owner` (cli_status.cc).
void AddStatusCommands(CLI::App& command, Globals& g, RunSlot& run);
void AddOwnerCommands(CLI::App& command, Globals& g, RunSlot& run);
// `loupe log` (cli_log.cc) and `loupe admin` (cli_admin.cc).
void AddLogCommands(CLI::App& command, Globals& g, RunSlot& run);
void AddAdminCommands(CLI::App& command, Globals& g, RunSlot& run);
// `loupe cert` (cli_cert.cc).
void AddCertCommands(CLI::App& command, Globals& g, RunSlot& run);
// `loupe geometry` and `loupe check` (cli_geometry.cc).
void AddGeometryCommands(CLI::App& command, Globals& g, RunSlot& run);
void AddCheckCommand(CLI::App& command, Globals& g, RunSlot& run);
// `loupe identify` (cli_identify.cc).
void AddIdentifyCommand(CLI::App& command, Globals& g, RunSlot& run);

}  // namespace loupe::client
