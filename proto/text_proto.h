#pragma once

// Parsing a configuration written in protobuf's text format, with the
// first error's position: shared by loupe-server's config and the
// witness's.

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/message.h>
#include <google/protobuf/text_format.h>

#include <string>

#include "absl/status/status.h"
#include "base/str_cat.h"

namespace loupe {

// Parses `text` into `message`. INVALID_ARGUMENT "line L, column C: ..."
// naming the first error.
[[nodiscard]] inline absl::Status ParseTextProto(
    const std::string& text, google::protobuf::Message* message) {
  class FirstError : public google::protobuf::io::ErrorCollector {
   public:
    void AddError(int line, google::protobuf::io::ColumnNumber column,
                  const std::string& error) override {
      if (first.empty()) {
        first = StrCat("line ", line + 1, ", column ", column + 1, ": ", error);
      }
    }
    std::string first;
  };
  google::protobuf::TextFormat::Parser parser;
  FirstError errors;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(text, message)) {
    return absl::InvalidArgumentError(errors.first);
  }
  return absl::OkStatus();
}

}  // namespace loupe
