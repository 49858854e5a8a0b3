#include "server/http/connection_gate.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/str_cat.h"

namespace loupe::server {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kSweepEvery(200);
constexpr milliseconds kSweepAtMost(50);  // 16,384 fstat()s: about 5 ms.
constexpr milliseconds kFirstBackoff(50);
constexpr milliseconds kLastBackoff(1000);
constexpr std::chrono::seconds kLogEvery(10);
constexpr int kBatch = 128;  // Accepts between looks at Stop() and sweeps.
constexpr uint64_t kMinConnections = 16;
constexpr int kMaxPerAddressDefault = 256;
// About 22 KiB each for an idle gRPC connection: 350 MiB at most.
constexpr uint64_t kMaxConnectionsDefault = 16384;
constexpr uint64_t kUnlimitedDescriptors = uint64_t{1} << 20;

enum Reason { kTotal, kPerAddress, kDescriptors, kReasons };
constexpr std::array<const char*, kReasons> kReasonNames = {
    "total", "per_address", "descriptors"};

// A client address as a counting key: IPv4 (also IPv4-mapped IPv6) whole,
// IPv6 by its /64 (what one subscriber is usually given).
std::string AddressKey(const sockaddr_storage& peer) {
  if (peer.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(peer).sin_addr;
    return std::string(reinterpret_cast<const char*>(&in), 4);
  }
  if (peer.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(peer).sin6_addr;
    const char* bytes = reinterpret_cast<const char*>(in6.s6_addr);
    if (IN6_IS_ADDR_V4MAPPED(&in6)) return std::string(bytes + 12, 4);
    return std::string(bytes, 8) + "/64";
  }
  return "?";
}

// accept(2)'s errors that belong to one connection: the next may do.
constexpr int kOneConnectionsErrors[] = {
    EINTR,     ECONNABORTED, EPROTO,       EPERM,      ENETDOWN,   ENOPROTOOPT,
    EHOSTDOWN, ENONET,       EHOSTUNREACH, EOPNOTSUPP, ENETUNREACH};

bool OneConnectionsTrouble(int error) {
  return std::ranges::find(kOneConnectionsErrors, error) !=
         std::end(kOneConnectionsErrors);
}

// "host:port" or "[v6]:port" split; false if malformed.
bool SplitAddress(const std::string& address, std::string* host,
                  std::string* port) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos) return false;
  *host = address.substr(0, colon);
  *port = address.substr(colon + 1);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  if (port->empty() || port->size() > 5 ||
      !std::all_of(port->begin(), port->end(), ::isdigit)) {
    return false;
  }
  return std::stoi(*port) <= 65535;
}

}  // namespace

struct ConnectionGate::State {
  struct Entry {
    dev_t dev;
    ino_t ino;
    std::string key;
  };
  std::mutex mu;
  std::unordered_map<int, Entry> open;  // By descriptor number.
  std::unordered_map<std::string, int> per_address;
  Clock::time_point last_sweep;
  std::string failing;  // Why accept fails now; empty while it works.
  std::array<uint64_t, kReasons> refused{};
  std::array<uint64_t, kReasons> logged{};  // `refused` when last logged.
  Clock::time_point last_log;

  void Forget(int fd) {
    auto it = open.find(fd);
    if (it == open.end()) return;
    auto count = per_address.find(it->second.key);
    if (--count->second == 0) per_address.erase(count);
    open.erase(it);
  }
  // Forgets every connection whose descriptor was closed (or now names
  // another file). O(open connections).
  void Sweep() {
    std::vector<int> gone;
    for (const auto& [fd, entry] : open) {
      struct stat st {};
      if (fstat(fd, &st) != 0 || st.st_dev != entry.dev ||
          st.st_ino != entry.ino) {
        gone.push_back(fd);
      }
    }
    for (int fd : gone) Forget(fd);
    last_sweep = Clock::now();
  }
  bool SweepIfOlder(Clock::duration age) {
    if (Clock::now() - last_sweep < age) return false;
    Sweep();
    return true;
  }
  int FromAddress(const std::string& key) const {
    auto it = per_address.find(key);
    return it == per_address.end() ? 0 : it->second;
  }
};

uint64_t DescriptorReserve(uint64_t nofile) {
  return std::max<uint64_t>(128, nofile / 4);
}

uint64_t DescriptorLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 ||
      limit.rlim_cur == RLIM_INFINITY ||
      limit.rlim_cur > kUnlimitedDescriptors) {
    return kUnlimitedDescriptors;
  }
  return limit.rlim_cur;
}

absl::StatusOr<ConnectionLimits> ResolveConnectionLimits(
    const v1::LimitsConfig& limits, uint64_t nofile, int listeners) {
  listeners = std::max(1, listeners);
  const uint64_t reserve = DescriptorReserve(nofile);
  const uint64_t room = nofile > reserve ? (nofile - reserve) / listeners : 0;
  const char* raise = "; raise it (systemd LimitNOFILE=, ulimit -n)";
  if (limits.max_connections() == 0 && room < kMinConnections) {
    return absl::FailedPreconditionError(
        StrCat("limits.max_connections: RLIMIT_NOFILE is ", nofile,
               ": after a reserve of ", reserve, " descriptors, fewer than ",
               kMinConnections, " connections are left for each of ", listeners,
               " listeners", raise));
  }
  if (limits.max_connections() > room) {
    return absl::FailedPreconditionError(
        StrCat("limits.max_connections: ", limits.max_connections(),
               " on each of ", listeners, " listeners, with a reserve of ",
               reserve, " descriptors, needs ",
               uint64_t{limits.max_connections()} * listeners + reserve,
               " descriptors but RLIMIT_NOFILE is ", nofile, raise,
               ", or lower limits.max_connections"));
  }
  ConnectionLimits out;
  out.max_connections = static_cast<int>(
      limits.max_connections() != 0 ? limits.max_connections()
                                    : std::min(room, kMaxConnectionsDefault));
  out.max_per_address =
      limits.max_connections_per_address() != 0
          ? static_cast<int>(std::min<uint64_t>(
                limits.max_connections_per_address(), out.max_connections))
          : std::clamp(out.max_connections / 4, 1, kMaxPerAddressDefault);
  return out;
}

ConnectionGate::ConnectionGate(Options options, int listen_fd, int port)
    : options_(std::move(options)),
      listen_fd_(listen_fd),
      port_(port),
      state_(std::make_unique<State>()) {
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  reserve_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

absl::StatusOr<std::unique_ptr<ConnectionGate>> ConnectionGate::Listen(
    const std::string& address, Options options) {
  auto refuse = [&](std::string_view why) {
    return absl::UnavailableError(
        StrCat(options.option, ": cannot listen on ", address, ": ", why));
  };
  std::string host, port;
  if (!SplitAddress(address, &host, &port)) {
    return refuse("expected host:port (port 0 to 65535)");
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(),
                           &hints, &found);
      rc != 0) {
    return refuse(gai_strerror(rc));
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> list(found, freeaddrinfo);
  std::string error = "no address";
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    const int fd =
        socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      error = std::strerror(errno);
      continue;
    }
    const int one = 1, zero = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (a->ai_family == AF_INET6) {
      setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    }
    sockaddr_storage bound{};
    socklen_t length = sizeof bound;
    if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 &&
        listen(fd, SOMAXCONN) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length) == 0) {
      const int bound_port =
          ntohs(bound.ss_family == AF_INET
                    ? reinterpret_cast<const sockaddr_in&>(bound).sin_port
                    : reinterpret_cast<const sockaddr_in6&>(bound).sin6_port);
      return std::unique_ptr<ConnectionGate>(
          new ConnectionGate(std::move(options), fd, bound_port));
    }
    error = std::strerror(errno);
    close(fd);
  }
  return refuse(error);
}

ConnectionGate::~ConnectionGate() {
  Stop();
  for (int fd : {listen_fd_, wake_fd_, reserve_fd_}) {
    if (fd >= 0) close(fd);
  }
}

void ConnectionGate::Start(Admit admit) {
  admit_ = std::move(admit);
  thread_ = std::thread([this] { Loop(); });
}

void ConnectionGate::Stop() {
  if (stopping_.exchange(true)) return;
  const uint64_t one = 1;
  if (write(wake_fd_, &one, sizeof one) < 0) {
    // The loop still sees stopping_ within one sweep period.
  }
  if (thread_.joinable()) thread_.join();
  shutdown(listen_fd_, SHUT_RDWR);  // New connections are refused now.
}

void ConnectionGate::Loop() {
  Clock::duration backoff{};
  while (!stopping_) {
    if (reserve_fd_ < 0) reserve_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
    const bool backing_off = backoff > Clock::duration::zero();
    pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {listen_fd_, POLLIN, 0}};
    const auto wait = std::chrono::duration_cast<milliseconds>(
        backing_off ? backoff : Clock::duration(kSweepEvery));
    poll(fds, backing_off ? 1 : 2, static_cast<int>(wait.count()));
    if (stopping_) break;
    {
      std::lock_guard lock(state_->mu);
      state_->SweepIfOlder(kSweepEvery);
    }
    LogRefusals();
    // After a back-off, accept once even with nothing waiting: accept()
    // fails with EMFILE before it looks at the queue, so this tells
    // whether descriptors are back (and Accepting() stops saying no).
    if (!backing_off && (fds[1].revents & POLLIN) == 0) continue;
    if (AcceptSome()) {
      backoff = {};
    } else {
      backoff = backing_off
                    ? std::min<Clock::duration>(2 * backoff, kLastBackoff)
                    : Clock::duration(kFirstBackoff);
    }
  }
}

bool ConnectionGate::AcceptSome() {
  for (int i = 0; i < kBatch && !stopping_; ++i) {
    sockaddr_storage peer{};
    socklen_t length = sizeof peer;
    const int fd = accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer),
                           &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0 && OneConnectionsTrouble(errno)) continue;
    if (fd < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      return OnAcceptError(errno);
    }
    std::string was;
    {
      std::lock_guard lock(state_->mu);
      was = std::exchange(state_->failing, "");
    }
    if (!was.empty()) {
      std::cerr << "loupe-server: " << options_.name
                << ": accepting connections again\n";
    }
    if (fd < 0) return true;  // Nothing more waiting.
    Take(fd, peer);
  }
  return true;
}

bool ConnectionGate::OnAcceptError(int error) {
  bool shed = false;
  if ((error == EMFILE || error == ENFILE) && reserve_fd_ >= 0) {
    // Out of descriptors: give up the spare one to take the waiting
    // connection off the queue and close it, so the client learns at once
    // instead of waiting in a backlog nobody drains.
    close(reserve_fd_);
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) {
      close(fd);
      shed = true;
    }
    reserve_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
  }
  const std::string why = StrCat("accept fails: ", std::strerror(error));
  std::string was;
  {
    std::lock_guard lock(state_->mu);
    if (shed) ++state_->refused[kDescriptors];
    was = std::exchange(state_->failing, why);
  }
  if (was != why) {
    std::cerr << "loupe-server: " << options_.name << ": " << why
              << "; shedding new connections and retrying\n";
  }
  return false;
}

void ConnectionGate::Take(int fd, const sockaddr_storage& peer) {
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    close(fd);
    return;
  }
  const std::string key = AddressKey(peer);
  const ConnectionLimits& limits = options_.limits;
  bool refused = false;
  {
    std::lock_guard lock(state_->mu);
    State& s = *state_;
    s.Forget(fd);  // The number was closed and given out again.
    auto over = [&]() -> std::optional<Reason> {
      if (static_cast<int>(s.open.size()) >= limits.max_connections) {
        return kTotal;
      }
      if (s.FromAddress(key) >= limits.max_per_address) return kPerAddress;
      return std::nullopt;
    };
    auto reason = over();
    if (reason.has_value() && s.SweepIfOlder(kSweepAtMost)) reason = over();
    if (reason.has_value()) {
      ++s.refused[*reason];
      refused = true;
    } else {
      s.open[fd] = State::Entry{st.st_dev, st.st_ino, key};
      ++s.per_address[key];
    }
  }
  if (refused) {
    if (!options_.refusal.empty()) {
      (void)send(fd, options_.refusal.data(), options_.refusal.size(),
                 MSG_DONTWAIT | MSG_NOSIGNAL);
    }
    close(fd);
    return;
  }
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  admit_(fd);
}

void ConnectionGate::LogRefusals() {
  std::string line;
  {
    std::lock_guard lock(state_->mu);
    State& s = *state_;
    const auto now = Clock::now();
    if (s.refused == s.logged || now - s.last_log < kLogEvery) return;
    line = StrCat("loupe-server: ", options_.name, ": refused connections");
    for (int r = 0; r < kReasons; ++r) {
      line += StrCat(" ", kReasonNames[r], "=", s.refused[r] - s.logged[r]);
    }
    line += StrCat(" (limits: ", options_.limits.max_connections, " in total, ",
                   options_.limits.max_per_address, " per address)\n");
    s.logged = s.refused;
    s.last_log = now;
  }
  std::cerr << line;
}

absl::Status ConnectionGate::Accepting() const {
  std::lock_guard lock(state_->mu);
  state_->SweepIfOlder(kSweepAtMost);
  if (stopping_)
    return absl::UnavailableError(StrCat(options_.name, ": stopped"));
  if (!state_->failing.empty()) {
    return absl::UnavailableError(StrCat(options_.name, ": ", state_->failing));
  }
  if (static_cast<int>(state_->open.size()) >=
      options_.limits.max_connections) {
    return absl::UnavailableError(
        StrCat(options_.name, ": at limits.max_connections (",
               options_.limits.max_connections, " open connections)"));
  }
  return absl::OkStatus();
}

ConnectionGate::Counts ConnectionGate::counts() const {
  std::lock_guard lock(state_->mu);
  const auto& refused = state_->refused;
  return {static_cast<int>(state_->open.size()), refused[kTotal],
          refused[kPerAddress], refused[kDescriptors]};
}

std::string ConnectionMetricsText(
    const std::vector<const ConnectionGate*>& gates) {
  std::vector<std::pair<std::string, ConnectionGate::Counts>> all;
  for (const ConnectionGate* gate : gates) {
    all.emplace_back(StrCat("listener=\"", gate->options().name, "\""),
                     gate->counts());
  }
  std::string out =
      "# HELP loupe_connections Open connections, by listener.\n"
      "# TYPE loupe_connections gauge\n";
  for (const auto& [label, c] : all) {
    out += StrCat("loupe_connections{", label, "} ", c.open, "\n");
  }
  out +=
      "# HELP loupe_connections_limit Connection limits (limits.max_"
      "connections, limits.max_connections_per_address), by listener.\n"
      "# TYPE loupe_connections_limit gauge\n";
  for (size_t i = 0; i < gates.size(); ++i) {
    const ConnectionLimits& limits = gates[i]->options().limits;
    out += StrCat("loupe_connections_limit{", all[i].first,
                  ",scope=\"total\"} ", limits.max_connections, "\n",
                  "loupe_connections_limit{", all[i].first,
                  ",scope=\"per_address\"} ", limits.max_per_address, "\n");
  }
  out +=
      "# HELP loupe_connections_refused_total Connections closed at once, by "
      "listener and reason.\n# TYPE loupe_connections_refused_total counter\n";
  for (const auto& [label, c] : all) {
    const std::pair<const char*, uint64_t> reasons[] = {
        {"total", c.refused_total},
        {"per_address", c.refused_per_address},
        {"descriptors", c.refused_descriptors}};
    for (const auto& [reason, n] : reasons) {
      out += StrCat("loupe_connections_refused_total{", label, ",reason=\"",
                    reason, "\"} ", n, "\n");
    }
  }
  return out;
}

}  // namespace loupe::server
