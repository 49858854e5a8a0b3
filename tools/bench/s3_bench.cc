// S3 asset engine benchmark (issue 18): a scan uploaded and downloaded
// through `loupe` to a loupe-server whose assets live in a local Swift
// (s3api) bucket, against a direct `curl --aws-sigv4` PUT and GET of the
// same file to the same server in the same run, and the server's RSS
// growth during the transfer (sampled every 10 ms).
// Targets: within 1.5x of the direct transfer's time; RSS growth < 64 MB.
//
// Usage: s3_bench [MEGABYTES (default 100)] [ROUNDS (default 2; best kept)]
//                 [engine: assets in RocksDB instead, as context]

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "base/str_cat.h"
#include "crypto/random.h"
#include "crypto/sha256.h"
#include "server/storage/s3/test_swift_for_tests.h"
#include "tests/test_server.h"

#ifndef LOUPE_CLI_BIN
#error "LOUPE_CLI_BIN must be defined"
#endif

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

long RssKb(pid_t pid) {
  std::ifstream in(loupe::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("VmRSS:")) return std::atol(line.c_str() + 6);
  }
  return 0;
}

// Runs a shell command; its wall time in seconds, or dies.
double Timed(const std::string& command) {
  const auto start = Clock::now();
  if (std::system(command.c_str()) != 0) {
    std::fprintf(stderr, "s3_bench: failed: %s\n", command.c_str());
    std::exit(1);
  }
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string UrlEncode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const uint64_t mb = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 100;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 2;
  auto swift = loupe::storage::s3::testing::TestSwift::Start();
  if (!swift.ok()) {
    std::fprintf(stderr, "s3_bench: %s\n", swift.status().ToString().c_str());
    return 1;
  }
  auto bucket = (*swift)->NewBucket("bench");
  if (!bucket.ok()) return 1;
  const auto& o = (*bucket)->options();
  const fs::path dir =
      fs::temp_directory_path() / loupe::StrCat("loupe-s3-bench-", getpid());
  fs::create_directories(dir);
  const std::string scan = (dir / "scan.bin").string();
  {
    std::ofstream out(scan, std::ios::binary);
    for (uint64_t i = 0; i < mb; ++i)
      out << loupe::crypto::RandomBytes(1 << 20);
  }
  std::ifstream in(scan, std::ios::binary);
  loupe::crypto::Sha256 hasher;
  std::string block(1 << 20, '\0');
  while (in.read(block.data(), block.size()) || in.gcount() > 0) {
    hasher.Update(std::string_view(block.data(), in.gcount()));
  }
  const std::string sha = loupe::crypto::ToHex(hasher.Finish());
  std::ofstream(dir / "secret") << o.secret_access_key;

  loupe::testing::TestServer server;
  server.SetLimits(loupe::StrCat("max_asset_bytes: ", (mb + 16) << 20));
  // Context: "engine" keeps assets in RocksDB (the same transfers without
  // the bucket), for the RSS and time of the path without S3.
  const bool in_engine = argc > 3 && std::string(argv[3]) == "engine";
  if (!in_engine)
    server.AppendConfig(loupe::StrCat("assets { s3 { endpoint: \"", o.endpoint,
                                      "\" bucket: \"", o.bucket,
                                      "\" access_key_id: \"", o.access_key_id,
                                      "\" secret_access_key_file: \"",
                                      (dir / "secret").string(), "\" } }\n"));
  if (auto s = server.Start(); !s.ok()) {
    std::fprintf(stderr, "s3_bench: %s\n", s.ToString().c_str());
    return 1;
  }
  const std::string env =
      loupe::StrCat("LOUPE_SERVER=", server.target(),
                    " LOUPE_TOKEN=", loupe::testing::kAurumToken, " ");
  const std::string cli = LOUPE_CLI_BIN;
  const std::string direct_url =
      loupe::StrCat("http://", UrlEncode(o.access_key_id), ":",
                    UrlEncode(o.secret_access_key), "@", o.endpoint.substr(7),
                    "/", o.bucket, "/direct-");
  const std::string curl = "curl -sSf --aws-sigv4 aws:amz:us-east-1:s3 ";

  std::printf(
      "S3 assets benchmark: %llu MB scan, local Swift (s3api) "
      "started in %.1f s, best of %d\n",
      static_cast<unsigned long long>(mb), (*swift)->start_seconds(), rounds);
  double best_loupe = 1e9, best_direct = 1e9, best_up = 0, best_down = 0;
  double direct_put = 0, direct_get = 0;
  long growth_kb = 0, up_growth_kb = 0;
  for (int r = 0; r < rounds; ++r) {
    // Direct: PUT and GET of the same bytes under a key of their own.
    const std::string key = loupe::StrCat(r);
    const double put =
        Timed(loupe::StrCat(curl, "-H 'x-amz-content-sha256: ", sha, "' -T ",
                            scan, " '", direct_url, key, "' -o /dev/null"));
    const double get = Timed(
        loupe::StrCat(curl, "-H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' '",
                      direct_url, key, "' -o ", (dir / "direct.out").string()));
    // Through loupe: a fresh object each round (the first round stores it;
    // later rounds would deduplicate, so delete it in between).
    (void)(*bucket)->Delete(loupe::StrCat("assets/", sha));
    (void)(*bucket)->Delete(loupe::StrCat("sums/", sha));
    const long base = RssKb(server.pid());
    std::atomic<bool> done{false};
    std::atomic<long> peak{base};
    std::thread sampler([&] {
      while (!done) {
        peak = std::max<long>(peak, RssKb(server.pid()));
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    });
    const double up =
        Timed(loupe::StrCat(env, cli, " asset put ", scan, " > /dev/null"));
    const long up_peak = peak;
    const double down =
        Timed(loupe::StrCat(env, cli, " asset get ", sha, " -o ",
                            (dir / "loupe.out").string(), " > /dev/null"));
    done = true;
    sampler.join();
    growth_kb = std::max(growth_kb, peak - base);
    up_growth_kb = std::max(up_growth_kb, up_peak - base);
    std::printf(
        "  round %d: loupe put %.2f s + get %.2f s | direct PUT %.2f s + GET "
        "%.2f s | ratio %.2fx | RSS growth %.1f MB (upload %.1f MB)\n",
        r + 1, up, down, put, get, (up + down) / (put + get),
        (peak - base) / 1024.0, (up_peak - base) / 1024.0);
    if (up + down < best_loupe)
      best_loupe = up + down, best_up = up, best_down = down;
    if (put + get < best_direct)
      best_direct = put + get, direct_put = put, direct_get = get;
  }
  Timed(loupe::StrCat("cmp ", scan, " ", (dir / "loupe.out").string()));
  const double ratio = best_loupe / best_direct;
  const double growth_mb = growth_kb / 1024.0;
  std::printf(
      "  loupe asset put + get: %.2f s (%.2f + %.2f), %.0f MB/s\n"
      "  direct curl --aws-sigv4 PUT + GET: %.2f s (%.2f + %.2f)\n"
      "  ratio %.2fx (target <= 1.5x): %s\n"
      "  server RSS growth during the transfers: %.1f MB (target < 64 MB): "
      "%s (during the upload: %.1f MB)\n",
      best_loupe, best_up, best_down, 2.0 * mb / best_loupe, best_direct,
      direct_put, direct_get, ratio, ratio <= 1.5 ? "met" : "NOT met",
      growth_mb, growth_mb < 64 ? "met" : "NOT met", up_growth_kb / 1024.0);
  fs::remove_all(dir);
  return 0;
}
