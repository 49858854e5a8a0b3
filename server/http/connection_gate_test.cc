#include "server/http/connection_gate.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

namespace loupe::server {
namespace {

using std::chrono::milliseconds;

TEST(ConnectionLimitsTest, DerivedFromTheDescriptorLimit) {
  const v1::LimitsConfig unset;
  EXPECT_EQ(DescriptorReserve(1024), 256u);
  EXPECT_EQ(DescriptorReserve(200), 128u);
  auto two = ResolveConnectionLimits(unset, 1024, 2);
  ASSERT_TRUE(two.ok()) << two.status();
  EXPECT_EQ(two->max_connections, 384);  // (1024 - 256) / 2
  EXPECT_EQ(two->max_per_address, 96);
  auto one = ResolveConnectionLimits(unset, 1024, 1);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->max_connections, 768);
  EXPECT_EQ(one->max_per_address, 192);
  auto many = ResolveConnectionLimits(unset, 65536, 2);
  ASSERT_TRUE(many.ok());
  EXPECT_EQ(many->max_connections, 16384);  // Not (65536 - 16384) / 2.
  EXPECT_EQ(many->max_per_address, 256);
}

TEST(ConnectionLimitsTest, ConfiguredLimitsMustFitUnderTheDescriptorLimit) {
  v1::LimitsConfig limits;
  limits.set_max_connections(300);
  limits.set_max_connections_per_address(10);
  auto ok = ResolveConnectionLimits(limits, 1024, 2);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->max_connections, 300);
  EXPECT_EQ(ok->max_per_address, 10);

  limits.set_max_connections(5000);
  auto over = ResolveConnectionLimits(limits, 1024, 2);
  EXPECT_EQ(over.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(over.status().message().find("limits.max_connections: 5000"),
            std::string::npos)
      << over.status();
  EXPECT_NE(over.status().message().find("RLIMIT_NOFILE is 1024"),
            std::string::npos)
      << over.status();

  auto tiny = ResolveConnectionLimits(v1::LimitsConfig(), 150, 2);
  EXPECT_EQ(tiny.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(tiny.status().message().find("RLIMIT_NOFILE is 150"),
            std::string::npos)
      << tiny.status();

  // A per-address limit over the total is the total.
  v1::LimitsConfig per_address;
  per_address.set_max_connections_per_address(100000);
  EXPECT_EQ(ResolveConnectionLimits(per_address, 1024, 2)->max_per_address,
            384);
}

// A gate on 127.0.0.1:0 that keeps what it admits.
class GateTest : public ::testing::Test {
 protected:
  void StartGate(ConnectionLimits limits) {
    auto gate = ConnectionGate::Listen("127.0.0.1:0",
                                       {"test", "test.address", limits, ""});
    ASSERT_TRUE(gate.ok()) << gate.status();
    gate_ = *std::move(gate);
    gate_->Start([this](int fd) {
      std::lock_guard lock(mu_);
      admitted_.push_back(fd);
    });
  }
  void TearDown() override {
    if (gate_ != nullptr) gate_->Stop();
    for (int fd : admitted_) close(fd);
    for (int fd : clients_) close(fd);
  }

  // A connection from `source` (127.x.y.z) over `fd` (a TCP socket; a new
  // one if -1); -1 if it cannot connect.
  int Connect(const char* source, int fd = -1) {
    if (fd < 0) fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    sockaddr_in from{};
    from.sin_family = AF_INET;
    inet_pton(AF_INET, source, &from.sin_addr);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<uint16_t>(gate_->port()));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0 ||
        connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
      close(fd);
      return -1;
    }
    clients_.push_back(fd);
    return fd;
  }

  // Whether the server closed `fd` within `wait`.
  static bool ClosedWithin(int fd, milliseconds wait) {
    pollfd p{fd, POLLIN | POLLRDHUP, 0};
    if (poll(&p, 1, static_cast<int>(wait.count())) <= 0) return false;
    char byte;
    return recv(fd, &byte, 1, MSG_DONTWAIT) <= 0;
  }

  size_t Admitted() {
    std::lock_guard lock(mu_);
    return admitted_.size();
  }
  bool WaitAdmitted(size_t n) {
    for (int i = 0; i < 200 && Admitted() < n; ++i) {
      std::this_thread::sleep_for(milliseconds(5));
    }
    return Admitted() == n;
  }
  // Closes the oldest admitted connection, as gRPC or asio would.
  void CloseOneAdmitted() {
    std::lock_guard lock(mu_);
    close(admitted_.front());
    admitted_.erase(admitted_.begin());
  }

  std::unique_ptr<ConnectionGate> gate_;
  std::mutex mu_;
  std::vector<int> admitted_;
  std::vector<int> clients_;
};

TEST_F(GateTest, CapsPerAddressAndInTotalAndSeesCloses) {
  StartGate({4, 2});
  const int a1 = Connect("127.0.0.1"), a2 = Connect("127.0.0.1");
  ASSERT_TRUE(WaitAdmitted(2));
  const int a3 = Connect("127.0.0.1");  // Over the address's 2.
  ASSERT_GE(a1 + a2 + a3, 0);
  EXPECT_TRUE(ClosedWithin(a3, milliseconds(2000)));
  EXPECT_FALSE(ClosedWithin(a1, milliseconds(50)));
  EXPECT_TRUE(gate_->Accepting().ok());

  Connect("127.0.0.2");
  Connect("127.0.0.2");
  ASSERT_TRUE(WaitAdmitted(4));
  const absl::Status full = gate_->Accepting();
  EXPECT_EQ(full.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(full.message().find("test: at limits.max_connections (4"),
            std::string::npos)
      << full;
  const int c1 = Connect("127.0.0.3");  // Over the total.
  EXPECT_TRUE(ClosedWithin(c1, milliseconds(2000)));
  EXPECT_EQ(Admitted(), 4u);

  // Whoever owns a connection closes it: the gate notices by sweeping
  // (at most every 50 ms).
  CloseOneAdmitted();
  std::this_thread::sleep_for(milliseconds(60));
  EXPECT_TRUE(gate_->Accepting().ok());
  const int c2 = Connect("127.0.0.3");
  ASSERT_TRUE(WaitAdmitted(4));
  EXPECT_FALSE(ClosedWithin(c2, milliseconds(50)));
  const auto counts = gate_->counts();
  EXPECT_EQ(counts.open, 4);
  EXPECT_EQ(counts.refused_per_address, 1u);
  EXPECT_EQ(counts.refused_total, 1u);
  const std::string metrics = ConnectionMetricsText({gate_.get()});
  EXPECT_NE(metrics.find("loupe_connections{listener=\"test\"} 4"),
            std::string::npos)
      << metrics;
}

// The highest descriptor number open in this process.
int HighestOpenDescriptor() {
  int highest = 2;
  DIR* dir = opendir("/proc/self/fd");
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.')
      highest = std::max(highest, atoi(entry->d_name));
  }
  closedir(dir);
  return highest;
}

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
         (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// Out of descriptors, the gate sheds waiting connections (they are closed
// at once rather than left in the backlog), says it is not accepting, does
// not spin, and takes connections again once descriptors are back.
TEST_F(GateTest, OutOfDescriptorsShedsBacksOffAndRecovers) {
  StartGate({100, 100});
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  rlimit low = saved;
  low.rlim_cur = HighestOpenDescriptor() + 16;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  std::vector<int> fillers;
  for (int fd; (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;) {
    fillers.push_back(fd);
  }
  // The clients' own sockets take the last slots: none is left for the
  // gate but its spare.
  int sockets[3];
  for (int& fd : sockets) {
    close(fillers.back());
    fillers.pop_back();
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  }
  const double cpu_before = CpuSeconds();
  const int clients[] = {Connect("127.0.0.1", sockets[0]),
                         Connect("127.0.0.2", sockets[1]),
                         Connect("127.0.0.3", sockets[2])};
  for (int fd : clients) {
    ASSERT_GE(fd, 0);
    EXPECT_TRUE(ClosedWithin(fd, milliseconds(3000)));
  }
  std::this_thread::sleep_for(milliseconds(500));
  const absl::Status failing = gate_->Accepting();
  const double cpu = CpuSeconds() - cpu_before;
  const auto counts = gate_->counts();
  for (int fd : fillers) close(fd);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &saved), 0);

  EXPECT_EQ(failing.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(failing.message().find("test: accept fails: Too many open files"),
            std::string::npos)
      << failing;
  EXPECT_EQ(counts.refused_descriptors, 3u);
  EXPECT_EQ(Admitted(), 0u);
  EXPECT_LT(cpu, 0.3) << "the accept loop spins";
  // Back within the longest back-off (1 s).
  bool accepting = false;
  for (int i = 0; i < 300 && !accepting; ++i) {
    std::this_thread::sleep_for(milliseconds(10));
    accepting = gate_->Accepting().ok();
  }
  EXPECT_TRUE(accepting);
  Connect("127.0.0.1");
  EXPECT_TRUE(WaitAdmitted(1));
}

}  // namespace
}  // namespace loupe::server
