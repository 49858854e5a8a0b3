// Certificate verification benchmarks, each as a ratio to its anchor
// measured in the same run:
//   1. Certificates with 10 subjects verified per second on one core
//      (signature, statement, key validity) against raw libsodium Ed25519
//      verifications per second. Target: ratio >= 0.5.
//   2. `loupe verify` of a bundle plus a 20 MB STL, wall time against
//      `sha256sum` of the same file. Target: ratio <= 1.5.
#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "crypto/bundle.h"
#include "crypto/certificate.h"
#include "crypto/log_entry.h"
#include "crypto/random.h"
#include "crypto/sha256.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;
using namespace loupe::crypto;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

// Runs `op` for about `seconds`; returns operations per second.
template <typename Op>
double Rate(double seconds, Op op) {
  const auto start = Clock::now();
  uint64_t n = 0;
  do {
    for (int i = 0; i < 100; ++i) op();
    n += 100;
  } while (Seconds(start) < seconds);
  return static_cast<double>(n) / Seconds(start);
}

// Median wall time of running `command` `runs` times.
double MedianSeconds(const std::string& command, int runs) {
  std::vector<double> times;
  for (int i = 0; i < runs; ++i) {
    const auto start = Clock::now();
    if (std::system(command.c_str()) != 0) {
      std::fprintf(stderr, "failed: %s\n", command.c_str());
      std::exit(1);
    }
    times.push_back(Seconds(start));
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 3.0;
  if (argc > 2 || seconds <= 0) {
    std::fprintf(stderr, "usage: verify_bench [SECONDS] (needs LOUPE_BIN)\n");
    return 2;
  }
  auto root_key = *SigningKey::Generate();
  auto cert_key = *SigningKey::Generate();
  const absl::Time day0 = absl::FromUnixSeconds(1767225600);  // 2026-01-01
  TrustRoot root{
      "registry.example/loupe",
      1,
      1,
      {RootKey{root_key.public_key(), {kRoleRoot}, day0, std::nullopt},
       RootKey{cert_key.public_key(),
               {kRoleCertificate, kRoleCheckpoint},
               day0,
               std::nullopt}}};
  Statement facts{{},
                  kCertificatePredicateType,
                  {{"piece_id", "pc_bench"}, {"version", 1}}};
  for (int i = 0; i < 10; ++i) {
    facts.subjects.push_back({"file" + std::to_string(i) + ".stl",
                              Sha256::HexOf(std::to_string(i))});
  }
  const DsseEnvelope certificate =
      *SignCertificate(facts, day0 + absl::Hours(24), cert_key);

  // 1. Batch verification on one core.
  const double certs = Rate(seconds, [&] {
    if (!VerifyCertificate(certificate, root).ok()) std::abort();
  });
  const std::string message(64, 'm');
  unsigned char sig[crypto_sign_BYTES];
  unsigned char pk[crypto_sign_PUBLICKEYBYTES];
  unsigned char sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_keypair(pk, sk);
  crypto_sign_detached(sig, nullptr,
                       reinterpret_cast<const unsigned char*>(message.data()),
                       message.size(), sk);
  const double raw = Rate(seconds, [&] {
    if (crypto_sign_verify_detached(
            sig, reinterpret_cast<const unsigned char*>(message.data()),
            message.size(), pk) != 0) {
      std::abort();
    }
  });
  std::printf(
      "certificate verification: %.0f/s (10 subjects, one core) | raw "
      "Ed25519 verify: %.0f/s | ratio %.2f\n",
      certs, raw, certs / raw);
  std::printf("  target ratio >= 0.5: %s\n",
              certs / raw >= 0.5 ? "met" : "NOT MET");

  // 2. loupe verify of a bundle and a 20 MB STL against sha256sum.
  const char* loupe = std::getenv("LOUPE_BIN");
  if (loupe == nullptr) {
    std::printf("  (set LOUPE_BIN to time loupe verify)\n");
    return 0;
  }
  const fs::path dir =
      fs::temp_directory_path() / ("loupe_vbench_" + RandomId(""));
  fs::create_directories(dir);
  std::string stl(20'000'000, '\0');
  std::mt19937 rng(5);
  for (auto& c : stl) c = static_cast<char>(rng());
  std::ofstream(dir / "ring.stl", std::ios::binary) << stl;
  Statement one{{{"ring.stl", Sha256::HexOf(stl)}},
                kCertificatePredicateType,
                {{"piece_id", "pc_bench"}, {"version", 1}}};
  // Logged as the only entry of a tree, as `loupe verify` requires.
  Bundle bundle{*SignCertificate(one, day0 + absl::Hours(24), cert_key),
                {},
                std::nullopt,
                std::nullopt,
                {}};
  const std::string entry =
      CertificateLogEntry(bundle.certificate.payload, "pc_bench", 1);
  bundle.log = LogProof{
      0,
      1,
      {},
      SignCheckpoint({root.origin, 1, LeafHash(entry)}, root.origin, cert_key)};
  std::ofstream(dir / "bundle.json") << EncodeBundle(bundle);
  std::ofstream(dir / "root.json")
      << EnvelopeToJson(*SignRoot(root, {&root_key}));
  const std::string quiet = " > /dev/null";
  const std::string verify = std::string(loupe) + " verify " +
                             (dir / "bundle.json").string() + " --root " +
                             (dir / "root.json").string() + " --file " +
                             (dir / "ring.stl").string() + quiet;
  const std::string sha = "sha256sum " + (dir / "ring.stl").string() + quiet;
  MedianSeconds(sha, 1);  // Warm the page cache.
  const double t_verify = MedianSeconds(verify, 9);
  const double t_sha = MedianSeconds(sha, 9);
  std::printf(
      "loupe verify, bundle + 20 MB STL: %.1f ms | sha256sum of the file: "
      "%.1f ms | ratio %.2f\n",
      t_verify * 1e3, t_sha * 1e3, t_verify / t_sha);
  std::printf("  target ratio <= 1.5: %s\n",
              t_verify / t_sha <= 1.5 ? "met" : "NOT MET");
  fs::remove_all(dir);
  return 0;
}
