// STEP: checked here (step_scan.h), then read by the reader program
// (step_reader_main.cc), started for each file.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "base/str_cat.h"
#include "geometry/cad/cad_readers.h"
#include "geometry/cad/step_answer.h"
#include "geometry/cad/step_scan.h"

extern char** environ;

namespace loupe::geometry::cad {
namespace {

constexpr char kProgram[] = "loupe-step-reader";

// One STEP read at a time: each may take gigabytes.
std::mutex& ReaderMutex() {
  static std::mutex* mu = new std::mutex;
  return *mu;
}

bool Executable(const std::string& path) {
  return !path.empty() && ::access(path.c_str(), X_OK) == 0;
}

// This program's directory, from /proc/self/exe; empty if unknown.
std::string ThisProgramsDirectory() {
  char buffer[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buffer, sizeof buffer - 1);
  if (n <= 0) return {};
  std::string path(buffer, static_cast<size_t>(n));
  return path.substr(0, path.find_last_of('/'));
}

// $LOUPE_STEP_READER, else the program beside this one (as installed),
// else the one in the build tree (tests and benchmarks).
absl::StatusOr<std::string> ReaderProgram() {
  if (const char* path = std::getenv("LOUPE_STEP_READER")) {
    if (Executable(path)) return std::string(path);
    return absl::InternalError(StrCat("STEP: LOUPE_STEP_READER names ", path,
                                      ", which is not an executable program"));
  }
  const std::string directory = ThisProgramsDirectory();
  if (std::string beside = StrCat(directory, "/", kProgram);
      Executable(beside)) {
    return beside;
  }
#ifdef LOUPE_STEP_READER_BUILD_PATH
  if (Executable(LOUPE_STEP_READER_BUILD_PATH)) {
    return std::string(LOUPE_STEP_READER_BUILD_PATH);
  }
#endif
  return absl::InternalError(StrCat("STEP: the reader program ", kProgram,
                                    " is not installed in ", directory,
                                    " (install it beside this program, or set "
                                    "LOUPE_STEP_READER to its path)"));
}

// The file in an anonymous memory file: the program's standard input.
absl::StatusOr<int> InputFile(std::string_view bytes) {
  const int fd = ::memfd_create("loupe-step", MFD_CLOEXEC);
  if (fd < 0) return absl::ResourceExhaustedError("STEP: no memory file");
  const char* p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      return absl::ResourceExhaustedError("STEP: cannot hold the file");
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  ::lseek(fd, 0, SEEK_SET);
  return fd;
}

// A started reader program: its pid and the read end of its output.
struct Reader {
  pid_t pid = -1;
  int output = -1;
};

absl::StatusOr<Reader> Start(const std::string& program, int input,
                             const ReadLimits& limits) {
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) {
    return absl::ResourceExhaustedError("STEP: cannot open a pipe");
  }
  posix_spawn_file_actions_t files;
  posix_spawn_file_actions_init(&files);
  posix_spawn_file_actions_adddup2(&files, input, 0);
  posix_spawn_file_actions_adddup2(&files, out[1], 1);
  // The program starts with no signal blocked and the crash signals at
  // their defaults, whatever the calling thread had.
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int s : {SIGPIPE, SIGXCPU, SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL}) {
    sigaddset(&defaults, s);
  }
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  posix_spawnattr_setflags(&attributes,
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<std::string> args = {
      program, std::to_string(limits.max_vertices),
      std::to_string(limits.max_triangles),
      std::to_string(limits.max_step_memory_bytes)};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  Reader reader;
  const int error = ::posix_spawn(&reader.pid, program.c_str(), &files,
                                  &attributes, argv.data(), environ);
  posix_spawn_file_actions_destroy(&files);
  posix_spawnattr_destroy(&attributes);
  ::close(out[1]);
  if (error != 0) {
    ::close(out[0]);
    return absl::ResourceExhaustedError(
        StrCat("STEP: cannot start ", program, " (errno ", error, ")"));
  }
  reader.output = out[0];
  return reader;
}

// Reads the program's whole answer; false if it took longer than
// `seconds` (wall clock) to give it.
bool ReadAnswer(int fd, uint64_t seconds, std::string* answer) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  char buffer[1 << 16];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) return false;
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return true;
    answer->append(buffer, static_cast<size_t>(n));
  }
}

int Wait(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

// What the program's end says about the file, OK if it ended normally.
absl::Status Ending(int status) {
  if (WIFSIGNALED(status)) {
    const int signal = WTERMSIG(status);
    if (signal == SIGXCPU || signal == SIGKILL) {
      return absl::ResourceExhaustedError(
          StrCat("STEP: reading took more than ", kStepCpuSeconds,
                 " s of CPU (the limit)"));
    }
    return absl::InvalidArgumentError(
        StrCat("STEP: OpenCASCADE crashed on this file (signal ", signal,
               "); it is malformed"));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    // A sanitizer's handler ends a crashed program with a status instead.
    return absl::InvalidArgumentError(StrCat(
        "STEP: OpenCASCADE crashed on this file (exit status ",
        WIFEXITED(status) ? WEXITSTATUS(status) : -1, "); it is malformed"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Mesh> ReadInReaderProgram(std::string_view bytes,
                                         const ReadLimits& limits) {
  auto program = ReaderProgram();
  if (!program.ok()) return program.status();
  auto input = InputFile(bytes);
  if (!input.ok()) return input.status();
  auto reader = Start(*program, *input, limits);
  ::close(*input);
  if (!reader.ok()) return reader.status();
  std::string answer;
  const bool answered =
      ReadAnswer(reader->output, limits.max_step_seconds, &answer);
  ::close(reader->output);
  if (!answered) ::kill(reader->pid, SIGKILL);
  const int status = Wait(reader->pid);
  if (!answered) {
    return absl::ResourceExhaustedError(StrCat("STEP: reading took more than ",
                                               limits.max_step_seconds,
                                               " s (the limit)"));
  }
  if (absl::Status ended = Ending(status); !ended.ok()) return ended;
  return ParseStepAnswer(answer);
}

}  // namespace

absl::StatusOr<ReadMeshResult> ParseStep(std::string_view bytes,
                                         const ReadLimits& limits) {
  auto facts = ScanStep(bytes, limits);
  if (!facts.ok()) return facts.status();
  std::lock_guard lock(ReaderMutex());
  auto mesh = ReadInReaderProgram(bytes, limits);
  if (!mesh.ok()) return mesh.status();
  ReadMeshResult result;
  result.mesh = *std::move(mesh);
  result.format = MeshFormat::kStep;
  return result;
}

}  // namespace loupe::geometry::cad
