// HTTP gateway benchmark (issue 6), with wrk (Debian's package) on
// loopback: requests/s for GET of a certificate's JSON and of a full log
// tile from loupe-server's gateway, each against nginx serving the same
// bytes as static files, in the same run, with the same wrk threads,
// connections and duration. Target: >= 20,000 req/s on 2 cores.
//
// Usage: http_bench [SECONDS per run, default 5]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>

#include "tests/http_util.h"
#include "tests/test_server.h"
#include "tests/test_util.h"

namespace loupe::bench {
namespace {

namespace fs = std::filesystem;

std::string Fetch(int port, const std::string& target) {
  return testing::HttpGet(port, target).body;
}

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// wrk's Requests/sec, or 0; non-2xx responses make the run count as 0.
double Wrk(const std::string& url, int seconds) {
  const std::string command =
      "wrk -t2 -c64 -d" + std::to_string(seconds) + "s " + url + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  std::string out;
  char buffer[4096];
  while (fgets(buffer, sizeof buffer, pipe) != nullptr) out += buffer;
  pclose(pipe);
  if (out.find("Non-2xx") != std::string::npos) {
    std::cerr << "wrk saw errors:\n" << out;
    return 0;
  }
  // "Requests/sec:   1234.56" (strtod skips the spaces).
  constexpr std::string_view kLabel = "Requests/sec:";
  if (const size_t at = out.find(kLabel); at != std::string::npos) {
    const char* number = out.c_str() + at + kLabel.size();
    char* end = nullptr;
    const double rate = std::strtod(number, &end);
    if (end != number) return rate;
  }
  std::cerr << out;
  return 0;
}

int Run(int seconds) {
  testing::TestServer server;
  server.EnableSigning();
  if (auto s = server.Start(); !s.ok()) {
    std::cerr << s << "\n";
    return 1;
  }
  auto aurum = server.Client(testing::kAurumToken);
  std::string piece_id;
  for (int i = 0; i < 300; ++i) {  // A full tile of leaves and then some.
    auto request = testing::PieceRequest("aurum", "B-" + std::to_string(i));
    request.mutable_first_version()->set_reason(v1::VERSION_REASON_ORIGINAL);
    auto piece = aurum->CreatePiece(request);
    if (!piece.ok()) {
      std::cerr << piece.status() << "\n";
      return 1;
    }
    piece_id = piece->id();
  }
  auto issued = aurum->IssueCertificate(piece_id, 0);
  if (!issued.ok()) {
    std::cerr << "cannot issue a certificate: " << issued.status() << "\n";
    return 1;
  }
  const v1::Certificate& certificate = *issued;
  const int http = server.http_port();
  const std::string cert_path = "/api/v1/certificates/" + certificate.id();
  const std::string tile_path = "/tile/0/000";
  const std::string cert_json = Fetch(http, cert_path);
  const std::string tile = Fetch(http, tile_path);
  if (tile.size() != 8192 || cert_json.empty()) {
    std::cerr << "unexpected bytes: tile " << tile.size() << "\n";
    return 1;
  }

  // nginx serving the same bytes from files.
  const fs::path dir = fs::temp_directory_path() /
                       ("loupe_http_bench_" + std::to_string(getpid()));
  fs::create_directories(dir / "root/api/v1/certificates");
  fs::create_directories(dir / "root/tile/0");
  std::ofstream(dir / ("root" + cert_path)) << cert_json;
  std::ofstream(dir / ("root" + tile_path), std::ios::binary) << tile;
  const int nginx_port = FreePort();
  std::ofstream(dir / "nginx.conf")
      << "daemon off; worker_processes 2; pid " << (dir / "nginx.pid").string()
      << "; error_log " << (dir / "error.log").string() << ";\n"
      << "events { worker_connections 1024; }\n"
      << "http { access_log off; sendfile on; keepalive_requests 100000;\n"
      << "  client_body_temp_path " << dir.string() << ";\n"
      << "  server { listen 127.0.0.1:" << nginx_port << "; root "
      << (dir / "root").string() << "; default_type application/json; } }\n";
  const pid_t nginx = fork();
  if (nginx == 0) {
    execlp("nginx", "nginx", "-c", (dir / "nginx.conf").c_str(), "-p",
           dir.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  sleep(1);
  const std::string base = "http://127.0.0.1:";
  if (Fetch(nginx_port, tile_path) != tile) {
    std::cerr << "nginx does not serve the tile\n";
  }
  const double cert_loupe =
      Wrk(base + std::to_string(http) + cert_path, seconds);
  const double cert_nginx =
      Wrk(base + std::to_string(nginx_port) + cert_path, seconds);
  const double tile_loupe =
      Wrk(base + std::to_string(http) + tile_path, seconds);
  const double tile_nginx =
      Wrk(base + std::to_string(nginx_port) + tile_path, seconds);
  kill(nginx, SIGTERM);
  waitpid(nginx, nullptr, 0);
  fs::remove_all(dir);

  std::printf(
      "HTTP GET certificate JSON (%zu bytes): loupe %.0f req/s | nginx static "
      "%.0f req/s | ratio %.2f\n",
      cert_json.size(), cert_loupe, cert_nginx, cert_loupe / cert_nginx);
  std::printf(
      "HTTP GET full tile (8192 bytes): loupe %.0f req/s | nginx static %.0f "
      "req/s | ratio %.2f\n",
      tile_loupe, tile_nginx, tile_loupe / tile_nginx);
  std::printf(
      "  (wrk -t2 -c64 -d%ds on loopback, 2 cores shared by client "
      "and server)\n",
      seconds);
  std::printf("  target >= 20000 req/s for both: %s\n",
              cert_loupe >= 20000 && tile_loupe >= 20000 ? "met" : "NOT MET");
  // A rate of 0 is a broken run (wrk failed or saw errors), not a figure.
  if (cert_loupe <= 0 || cert_nginx <= 0 || tile_loupe <= 0 ||
      tile_nginx <= 0) {
    std::fprintf(stderr, "http_bench: a measurement failed (0 req/s)\n");
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace loupe::bench

int main(int argc, char** argv) {
  // wrk takes whole seconds.
  return loupe::bench::Run(argc > 1 ? std::max(1, std::atoi(argv[1])) : 5);
}
