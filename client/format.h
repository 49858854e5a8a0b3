#pragma once

#include <google/protobuf/message.h>

#include <ostream>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "loupe/v1/registry.pb.h"

namespace loupe::client {

// One-line JSON of a message, with proto field names (for scripts and jq).
[[nodiscard]] std::string ToJson(const google::protobuf::Message& message);

// Parses JSON (protobuf's JSON mapping) into `message`; INVALID_ARGUMENT
// naming the problem otherwise. Unknown fields are errors.
[[nodiscard]] absl::Status FromJson(const std::string& json,
                                    google::protobuf::Message* message);

// The short, lower-case name of an enum value: PIECE_KIND_RING -> "ring".
[[nodiscard]] std::string ShortName(const google::protobuf::EnumDescriptor* d,
                                    int value);
// Parses "ring", "RING" or "PIECE_KIND_RING" (and '-' for '_'); false if the
// name is unknown or the UNSPECIFIED value.
[[nodiscard]] bool ParseShortName(const google::protobuf::EnumDescriptor* d,
                                  std::string text, int* value);
// "ring, band, pendant, ..." for help and error texts.
[[nodiscard]] std::string ShortNames(const google::protobuf::EnumDescriptor* d);

// `text` made safe to print to a terminal: each terminal control
// (base/utf8.h: C0, DEL, C1, bidirectional overrides) and each byte that is
// not valid UTF-8 is written as an escape ("\x1b", "\u009b", "\u202e"),
// so text the CLI did not write (status reasons, names from a bundle)
// cannot move the cursor, recolour or overwrite what the CLI prints.
[[nodiscard]] std::string TerminalSafe(std::string_view text);

// Human-readable reports.
void PrintPiece(std::ostream& out, const v1::Piece& piece);
void PrintPieceLine(std::ostream& out, const v1::Piece& piece);
void PrintVersion(std::ostream& out, const v1::TwinVersion& version);
void PrintVersionLine(std::ostream& out, const v1::TwinVersion& version);
// One cited check in a line: "ck_...: repair check against version 1
// within 0.050 mm: PASS (largest difference 0.040 mm, 99.8 % of the
// surface), by bench at ...", and the studio's reason for a failed one.
// Terminal-safe.
[[nodiscard]] std::string DescribeEvidence(const v1::CheckEvidence& e);

}  // namespace loupe::client
