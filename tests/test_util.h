#pragma once

// Helpers shared by the integration tests: building requests,
// deterministic test bytes, and running a command.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <random>
#include <string>

#include "client/registry_client.h"
#include "crypto/sha256.h"

namespace loupe::testing {

struct CliResult {
  int exit_code;       // -1 if the command did not exit normally.
  std::string output;  // Standard output and error, interleaved.
};

// Runs a shell `command` and waits for it.
inline CliResult RunCommand(const std::string& command) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  std::string output;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof buffer, pipe)) {
    output.append(buffer, n);
  }
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

inline std::string TestBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

inline v1::UploadAssetHeader HeaderFor(const std::string& bytes) {
  v1::UploadAssetHeader h;
  h.set_size_bytes(bytes.size());
  h.set_sha256(crypto::Sha256::HexOf(bytes));
  // A Rhino model: a CAD file the server stores but does not measure (the
  // bytes are random; mesh files are measured, see geometry_server_test).
  h.set_file_name("ring.3dm");
  return h;
}

inline v1::CreatePieceRequest PieceRequest(const std::string& studio,
                                           const std::string& reference) {
  v1::CreatePieceRequest r;
  r.set_studio_id(studio);
  r.set_studio_reference(reference);
  r.set_kind(v1::PIECE_KIND_RING);
  r.set_title("Solitaire, 18k rose gold");
  return r;
}

inline v1::AssetRef CadAsset(const std::string& bytes) {
  v1::AssetRef a;
  a.set_role(v1::ASSET_ROLE_CAD);
  a.set_file_name("ring.3dm");
  a.set_media_type("model/vnd.3dm");
  a.set_size_bytes(bytes.size());
  a.set_sha256(crypto::Sha256::HexOf(bytes));
  return a;
}

inline v1::AddVersionRequest VersionRequest(const std::string& piece_id,
                                            uint32_t parent,
                                            v1::VersionReason reason) {
  v1::AddVersionRequest r;
  r.set_piece_id(piece_id);
  r.mutable_version()->set_parent_number(parent);
  r.mutable_version()->set_reason(reason);
  return r;
}

// Asserts that a Status is OK, printing it otherwise.
#define ASSERT_OK(expr)              \
  do {                               \
    const absl::Status _st = (expr); \
    ASSERT_TRUE(_st.ok()) << _st;    \
  } while (0)

// Asserts an error status with `code` whose message mentions `text`.
#define EXPECT_STATUS(expr, code_, text)                               \
  do {                                                                 \
    const absl::Status _s = (expr);                                    \
    EXPECT_EQ(_s.code(), absl::StatusCode::code_) << _s;               \
    EXPECT_NE(std::string(_s.message()).find(text), std::string::npos) \
        << "expected \"" << (text) << "\" in: " << _s;                 \
  } while (0)

}  // namespace loupe::testing
