#pragma once

// Tests and benchmarks only: raw HTTP/1.1 over a loopback socket, so that a
// test can send exactly the bytes it wants (oversized heads, trickled
// requests, garbage) and read exactly what comes back.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <string>

namespace loupe::testing {

// Connects to 127.0.0.1:`port`, sends `raw` in pieces of `piece` bytes
// `pause_ms` apart, and reads until the server closes or `timeout_s`
// passes. "" if it cannot connect.
inline std::string HttpExchange(int port, const std::string& raw,
                                int pause_ms = 0, size_t piece = SIZE_MAX,
                                int timeout_s = 10) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return "";
  }
  timeval tv{timeout_s, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  for (size_t at = 0; at < raw.size(); at += piece) {
    const std::string part = raw.substr(at, piece);
    if (send(fd, part.data(), part.size(), MSG_NOSIGNAL) < 0) break;
    if (pause_ms > 0) usleep(pause_ms * 1000);
  }
  std::string out;
  char buffer[65536];
  ssize_t n;
  while ((n = recv(fd, buffer, sizeof buffer, 0)) > 0) out.append(buffer, n);
  close(fd);
  return out;
}

struct HttpReply {
  int status = 0;  // 0 when nothing readable came back.
  std::string head, body;
};

// The status, head and body of a raw HTTP/1.1 answer.
inline HttpReply ParseHttpReply(const std::string& raw) {
  HttpReply r;
  const size_t end = raw.find("\r\n\r\n");
  if (raw.size() < 12 || end == std::string::npos) return r;
  r.status = std::atoi(raw.c_str() + 9);
  r.head = raw.substr(0, end);
  r.body = raw.substr(end + 4);
  return r;
}

// GET `target` with "Connection: close" and `extra_headers` (each ending
// in \r\n).
inline HttpReply HttpGet(int port, const std::string& target,
                         const std::string& extra_headers = "") {
  return ParseHttpReply(HttpExchange(
      port, "GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" +
                extra_headers + "\r\n"));
}

// POST `body` to `target` with "Connection: close".
inline HttpReply HttpPost(int port, const std::string& target,
                          const std::string& body) {
  return ParseHttpReply(
      HttpExchange(port, "POST " + target +
                             " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                             "Content-Length: " +
                             std::to_string(body.size()) + "\r\n\r\n" + body));
}

}  // namespace loupe::testing
