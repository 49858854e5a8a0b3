#include "server/storage/s3/test_swift_for_tests.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "base/str_cat.h"

namespace loupe::storage::s3::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr char kPython[] = "/usr/bin/python3";
constexpr char kDirPrefix[] = "loupe-swift-";
constexpr char kOwnerFile[] = "owner.pid";
constexpr const char* kServers[] = {"proxy", "account", "container", "object"};

// tempauth wants a cache in the WSGI environment; memcached is one more
// daemon, so the proxy gets this in-process stand-in.
constexpr char kCacheModule[] = R"py(import time as _t
class _Cache(object):
    def __init__(self):
        self.d = {}
    def get(self, key, raise_on_error=False):
        v = self.d.get(key)
        if v is None or (v[0] and v[0] < _t.time()):
            return None
        return v[1]
    def set(self, key, value, serialize=True, time=0, min_compress_len=0,
            raise_on_error=False):
        self.d[key] = ((_t.time() + time) if time else 0, value)
    def incr(self, key, delta=1, time=0):
        v = (self.get(key) or 0) + delta
        self.set(key, v, time=time)
        return v
    def decr(self, key, delta=1, time=0):
        return self.incr(key, -delta, time)
    def delete(self, key, server_key=None):
        self.d.pop(key, None)
    def get_multi(self, keys, server_key):
        return [self.get(k) for k in keys]
    def set_multi(self, mapping, server_key, serialize=True, time=0,
                  min_compress_len=0):
        for k, v in mapping.items():
            self.set(k, v, time=time)
def filter_factory(global_conf, **local_conf):
    cache = _Cache()
    def make(app):
        def mw(env, start_response):
            env['swift.cache'] = cache
            return app(env, start_response)
        return mw
    return make
)py";

// Builds the three rings (one device, one replica, one partition) in one
// interpreter: argv = dir, account port, container port, object port.
constexpr char kRingScript[] = R"py(import sys
from swift.common.ring import RingBuilder
for name, port in zip(('account', 'container', 'object'), sys.argv[2:5]):
    b = RingBuilder(0, 1, 0)
    b.add_dev({'id': 0, 'region': 1, 'zone': 1, 'ip': '127.0.0.1',
               'port': int(port), 'device': 'd1', 'weight': 1.0, 'meta': ''})
    b.rebalance()
    b.get_ring().save('%s/%s.ring.gz' % (sys.argv[1], name))
)py";

constexpr char kProxyPipeline[] = R"(
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo proxy-logging proxy-server
[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
[filter:cache]
paste.filter_factory = loupe_swift_cache:filter_factory
[filter:s3api]
use = egg:swift#s3api
location = us-east-1
[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin
[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
)";

absl::Status WriteFile(const fs::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  if (!out) return absl::InternalError(StrCat("cannot write ", path.string()));
  return absl::OkStatus();
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

bool Listening(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok =
      connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

// Starts `args` with output to `log` and `env` added; dies with us.
int Spawn(const std::vector<std::string>& args, const std::string& log,
          const std::vector<std::string>& env) {
  std::vector<std::string> all = args;
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid != 0) return pid;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(1);
  const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd >= 0) {
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
  }
  for (const auto& e : env) putenv(const_cast<char*>(e.c_str()));
  execv(argv[0], argv.data());
  _exit(127);
}

int RunAndWait(const std::vector<std::string>& args, const std::string& log) {
  const int pid = Spawn(args, log, {});
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) < 0) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Removes directories whose test process is gone (their servers died with
// it: PR_SET_PDEATHSIG).
void RemoveAbandoned() {
  std::error_code ec;
  for (const auto& entry :
       fs::directory_iterator(fs::temp_directory_path(), ec)) {
    if (!entry.path().filename().string().starts_with(kDirPrefix)) continue;
    const pid_t pid = static_cast<pid_t>(
        std::atol(ReadFile(entry.path() / kOwnerFile).c_str()));
    if (pid <= 0 || kill(pid, 0) == 0 || errno != ESRCH) continue;
    fs::remove_all(entry.path(), ec);
  }
}

std::string UserName() {
  const passwd* pw = getpwuid(geteuid());
  return pw != nullptr ? pw->pw_name : "root";
}

}  // namespace

absl::StatusOr<std::unique_ptr<TestSwift>> TestSwift::Start() {
  const auto start = Clock::now();
  for (const char* server : kServers) {
    const std::string path = StrCat("/usr/bin/swift-", server, "-server");
    if (access(path.c_str(), X_OK) != 0) {
      return absl::FailedPreconditionError(StrCat(
          path, " is missing: install swift-", server, " (tools/setup.sh)"));
    }
  }
  RemoveAbandoned();
  std::string tmpl =
      (fs::temp_directory_path() / StrCat(kDirPrefix, "XXXXXX")).string();
  if (mkdtemp(tmpl.data()) == nullptr) {
    return absl::InternalError(StrCat("mkdtemp ", tmpl, " failed"));
  }
  std::unique_ptr<TestSwift> swift(new TestSwift(tmpl));
  if (auto s = WriteFile(fs::path(tmpl) / kOwnerFile,
                         StrCat(static_cast<long>(getpid())));
      !s.ok()) {
    return s;
  }
  const std::string probe = StrCat(tmpl, "/", kOwnerFile);
  if (setxattr(probe.c_str(), "user.loupe", "1", 1, 0) != 0) {
    return absl::FailedPreconditionError(
        StrCat("the filesystem of ", tmpl,
               " refuses user xattrs, which Swift needs: set TMPDIR to a "
               "tmpfs or ext4 directory"));
  }
  for (int& port : swift->ports_) port = FreePort();
  if (auto s = swift->WriteConfig(); !s.ok()) return s;
  if (RunAndWait(
          {kPython, StrCat(tmpl, "/rings.py"), tmpl, StrCat(swift->ports_[1]),
           StrCat(swift->ports_[2]), StrCat(swift->ports_[3])},
          StrCat(tmpl, "/rings.log")) != 0) {
    return absl::InternalError(StrCat("building Swift's rings failed: ",
                                      ReadFile(fs::path(tmpl) / "rings.log")));
  }
  if (auto s = swift->Launch(); !s.ok()) return s;
  swift->start_seconds_ =
      std::chrono::duration<double>(Clock::now() - start).count();
  return swift;
}

absl::Status TestSwift::WriteConfig() {
  const fs::path dir(dir_);
  std::error_code ec;
  fs::create_directories(dir / "srv" / "d1", ec);
  if (ec) return absl::InternalError(StrCat("mkdir srv/d1: ", ec.message()));
  if (auto s = WriteFile(dir / "swift.conf",
                         "[swift-hash]\nswift_hash_path_suffix = loupe\n"
                         "swift_hash_path_prefix = loupe\n"
                         "[storage-policy:0]\nname = only\ndefault = yes\n");
      !s.ok()) {
    return s;
  }
  if (auto s = WriteFile(dir / "rings.py", kRingScript); !s.ok()) return s;
  if (auto s = WriteFile(dir / "loupe_swift_cache.py", kCacheModule); !s.ok()) {
    return s;
  }
  for (int i = 0; i < 4; ++i) {
    std::string conf =
        StrCat("[DEFAULT]\nbind_ip = 127.0.0.1\nbind_port = ", ports_[i],
               "\nworkers = 0\nuser = ", UserName(), "\nswift_dir = ", dir_,
               "\ndevices = ", dir_, "/srv\nmount_check = false\n",
               "disable_fallocate = true\nlog_name = ", kServers[i], "\n");
    if (i == 0) {
      conf += kProxyPipeline;
    } else {
      conf += StrCat("[pipeline:main]\npipeline = ", kServers[i],
                     "-server\n[app:", kServers[i],
                     "-server]\nuse = egg:swift#", kServers[i], "\n");
    }
    if (auto s = WriteFile(dir / StrCat(kServers[i], "-server.conf"), conf);
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status TestSwift::Launch() {
  pids_.clear();
  for (const char* server : kServers) {
    const int pid =
        Spawn({kPython, StrCat("/usr/bin/swift-", server, "-server"),
               StrCat(dir_, "/", server, "-server.conf")},
              StrCat(dir_, "/", server, ".log"), {StrCat("PYTHONPATH=", dir_)});
    if (pid < 0) return absl::InternalError("fork failed");
    pids_.push_back(pid);
  }
  return WaitReady();
}

absl::Status TestSwift::WaitReady() {
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  for (int port : ports_) {
    while (!Listening(port)) {
      for (int pid : pids_) {
        if (waitpid(pid, nullptr, WNOHANG) == pid) {
          return absl::InternalError(
              StrCat("a Swift server exited during start:\n", Logs()));
        }
      }
      if (Clock::now() > deadline) {
        return absl::InternalError(
            StrCat("Swift did not listen within 60 s:\n", Logs()));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  // Listening is not serving: the first account request may still 503.
  auto client = S3Client::Create(Options("loupe-ready-probe"));
  if (!client.ok()) return client.status();
  absl::Status s;
  while (!(s = (*client)->CreateBucket()).ok()) {
    if (Clock::now() > deadline) {
      return absl::InternalError(
          StrCat("Swift's s3api did not answer: ", s.message(), "\n", Logs()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return absl::OkStatus();
}

std::string TestSwift::Logs() const {
  std::string out;
  for (const char* server : kServers) {
    out += StrCat("--- ", server, ".log\n",
                  ReadFile(fs::path(dir_) / StrCat(server, ".log")));
  }
  return out;
}

void TestSwift::Kill() {
  for (int pid : pids_) kill(pid, SIGKILL);
  for (int pid : pids_) waitpid(pid, nullptr, 0);
  pids_.clear();
}

absl::Status TestSwift::Resume() { return Launch(); }

TestSwift::~TestSwift() {
  Kill();
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::string TestSwift::endpoint() const {
  return StrCat("http://127.0.0.1:", ports_[0]);
}

S3Options TestSwift::Options(const std::string& bucket) const {
  S3Options o;
  o.endpoint = endpoint();
  o.bucket = bucket;
  o.region = kRegion;
  o.access_key_id = kAccessKeyId;
  o.secret_access_key = kSecret;
  o.max_attempts = 3;
  o.first_backoff = std::chrono::milliseconds(50);
  o.connect_timeout = std::chrono::milliseconds(1000);
  o.stall_timeout = std::chrono::seconds(10);
  return o;
}

absl::StatusOr<std::unique_ptr<S3Client>> TestSwift::NewBucket(
    const std::string& prefix) {
  auto client = S3Client::Create(
      Options(StrCat(prefix, "-", getpid(), "-", next_bucket_++)));
  if (!client.ok()) return client.status();
  if (auto s = (*client)->CreateBucket(); !s.ok()) return s;
  return client;
}

TestSwift& SharedSwift() {
  static std::unique_ptr<TestSwift> swift = [] {
    auto started = TestSwift::Start();
    if (!started.ok()) {
      std::cerr << "cannot start the test's Swift: " << started.status()
                << "\n";
      std::abort();
    }
    std::cerr << "Swift (s3api) started in " << (*started)->start_seconds()
              << " s\n";
    return *std::move(started);
  }();
  return *swift;
}

}  // namespace loupe::storage::s3::testing
