#pragma once

// The door of a TCP listener: accepts connections on its own thread and
// admits them only within limits, so that a flood of connections cannot
// use up the process's descriptors (and, with them, the store's files, the
// other listener, and gRPC 1.51's own accept loop, which stops for good on
// EMFILE: grpc/grpc#20418). Used by the gRPC server (whose listening socket
// it owns, handing connections over through ServerBuilder's external
// connection acceptor) and by the HTTP gateway.
//
//  - At most `max_connections` open at once, and `max_per_address` from one
//    client address (an IPv6 client counts by its /64). A connection over
//    either is accepted and closed at once (after `refusal`, if any), so
//    the kernel's backlog never fills with what cannot be served.
//  - Out of descriptors (EMFILE, ENFILE): one spare descriptor is given up
//    to accept and close the waiting connection, then the gate backs off
//    (50 ms doubling to 1 s) instead of spinning, and Accepting() says so.
//  - Admitted connections belong to whoever `admit` gave them to (gRPC
//    tells nobody when it closes one). The gate remembers each by its
//    descriptor number and socket inode, and sweeps: a number that is
//    closed, or now names another file, is a connection gone. A socket's
//    inode number comes from a 32-bit kernel counter and repeats only after
//    some 4 billion more sockets, pipes and the like, so a sweep does not
//    mistake a new file for an old connection. Sweeps run every 200 ms, and
//    before refusing a connection or answering Accepting() if the last is
//    50 ms old: counts lag closes by at most that. (gRPC closes a
//    connection as soon as its peer does, or at its handshake deadline.)
//
// Thread-safe: Accepting() and counts() may be called from any thread
// while the gate runs; Start() and Stop() from the owner.

#include <sys/resource.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "loupe/v1/config.pb.h"

namespace loupe::server {

// How many connections one listener may hold.
struct ConnectionLimits {
  int max_connections = 0;  // In total.
  int max_per_address = 0;  // From one client address (IPv6: one /64).
};

// Descriptors kept back from connections under a limit of `nofile`: for
// the store's files, uploads being written, gRPC's and asio's event
// descriptors, logs. max(128, nofile / 4).
[[nodiscard]] uint64_t DescriptorReserve(uint64_t nofile);

// The limits of each of `listeners` listeners (1 or 2) when the process
// may open `nofile` descriptors (RLIMIT_NOFILE's soft limit):
// limits.max_connections, else (nofile - reserve) / listeners, at most
// 16,384 (memory: an idle gRPC connection holds about 22 KiB); and
// limits.max_connections_per_address, else a quarter of that, at most 256
// (never more than max_connections). FAILED_PRECONDITION naming
// limits.max_connections, with the numbers, if the connections and the
// reserve do not fit under `nofile`, or fewer than 16 would.
[[nodiscard]] absl::StatusOr<ConnectionLimits> ResolveConnectionLimits(
    const v1::LimitsConfig& limits, uint64_t nofile, int listeners);

// The soft RLIMIT_NOFILE of this process (RLIM_INFINITY as 1 << 20).
[[nodiscard]] uint64_t DescriptorLimit();

class ConnectionGate;

// Prometheus text for /metrics, each family once for all `gates`:
// loupe_connections{listener} (open now),
// loupe_connections_limit{listener,scope="total"|"per_address"} and
// loupe_connections_refused_total{listener,reason="total"|"per_address"|
// "descriptors"}.
[[nodiscard]] std::string ConnectionMetricsText(
    const std::vector<const ConnectionGate*>& gates);

class ConnectionGate {
 public:
  struct Options {
    std::string name;    // "grpc" or "http": in messages and metrics.
    std::string option;  // The address's option, for errors.
    ConnectionLimits limits;
    // Sent (best effort, without blocking) to a connection refused for a
    // limit, just before it is closed; may be empty.
    std::string refusal;
  };
  // Takes an admitted connection (a non-blocking, close-on-exec socket);
  // runs on the gate's thread and must not block. Owns `fd` from then on.
  using Admit = std::function<void(int fd)>;

  // Binds and listens on `address` ("host:port", "[v6]:port"; port 0 picks
  // one; "[::]" also takes IPv4). UNAVAILABLE naming options.option if it
  // cannot.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<ConnectionGate>> Listen(
      const std::string& address, Options options);
  ~ConnectionGate();  // Stop().

  ConnectionGate(const ConnectionGate&) = delete;
  ConnectionGate& operator=(const ConnectionGate&) = delete;

  // Starts accepting: each admitted connection goes to `admit`. Once only.
  void Start(Admit admit);
  // Stops accepting and closes the listening socket, after which `admit`
  // is no longer called. Connections already admitted are untouched.
  // Idempotent.
  void Stop();

  int port() const { return port_; }
  int listen_fd() const { return listen_fd_; }

  // OK while a new connection from an address under its limit would be
  // admitted; else UNAVAILABLE saying why: at max_connections, or accept
  // failing (out of descriptors or memory). Sweeps first (at most every
  // 50 ms).
  [[nodiscard]] absl::Status Accepting() const;

  // Open connections now, and how many were refused, by reason.
  struct Counts {
    int open = 0;
    uint64_t refused_total = 0;        // At max_connections.
    uint64_t refused_per_address = 0;  // At max_per_address.
    uint64_t refused_descriptors = 0;  // Shed when out of descriptors.
  };
  [[nodiscard]] Counts counts() const;
  const Options& options() const { return options_; }

  struct State;  // Counts and the sweep table (connection_gate.cc).

 private:
  ConnectionGate(Options options, int listen_fd, int port);
  void Loop();
  // Accepts what is waiting (a bounded batch); false to back off.
  bool AcceptSome();
  // Handles accept()'s error; false to back off.
  bool OnAcceptError(int error);
  void Take(int fd, const sockaddr_storage& peer);
  // At most every 10 s: how many connections were refused since, and why.
  void LogRefusals();

  const Options options_;
  const int listen_fd_;
  const int port_;
  int wake_fd_ = -1;     // eventfd: Stop() wakes the loop.
  int reserve_fd_ = -1;  // /dev/null: given up to shed on EMFILE.
  Admit admit_;
  std::unique_ptr<State> state_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace loupe::server
