// loupe-step-reader: Loupe's STEP reader program. Reads one STEP file on
// standard input and writes the tessellated mesh (or the reason it has
// none) on standard output in the format of step_answer.h. The programs
// that read STEP start it for each file (read_step.cc), so that
// OpenCASCADE, which keeps global state and crashes on some malformed
// files, never runs inside them; it limits its own CPU time and memory.
// Install it beside loupe-server and loupe.
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "base/sanitizers.h"
#include "geometry/cad/cad_readers.h"
#include "geometry/cad/step_answer.h"
#include "geometry/cad/step_to_mesh.h"

namespace {

constexpr char kUsage[] =
    "usage: loupe-step-reader MAX_VERTICES MAX_TRIANGLES MAX_MEMORY_BYTES "
    "< FILE.step\n"
    "Loupe's STEP reader, started by loupe-server and loupe for each STEP "
    "file:\nreads the file on standard input, writes the mesh on standard "
    "output in\nLoupe's own binary answer format. Not meant to be run by "
    "hand.\n";

constexpr bool kSanitized = LOUPE_ADDRESS_SANITIZER;

bool ParseCount(const char* text, uint64_t* out) {
  char* end = nullptr;
  errno = 0;
  *out = std::strtoull(text, &end, 10);
  return errno == 0 && end != text && *end == '\0';
}

// The address space this process has mapped, from /proc/self/statm; 0 if
// unreadable.
uint64_t MappedBytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long long pages = 0;
  const bool read = std::fscanf(f, "%llu", &pages) == 1;
  std::fclose(f);
  return read ? pages * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE)) : 0;
}

std::string ReadStandardInput() {
  std::string bytes;
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(0, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return bytes;
    bytes.append(buffer, static_cast<size_t>(n));
  }
}

// CPU time, and (not under AddressSanitizer, whose allocator spins when a
// limit refuses its mappings) OpenCASCADE's memory: what this process has
// mapped once the file is read, plus the caller's limit, so that an
// allocation beyond it fails (bad_alloc is answered as such). No core
// files.
void LimitThisProcess(uint64_t memory_bytes) {
  const rlimit cpu{loupe::geometry::cad::kStepCpuSeconds,
                   loupe::geometry::cad::kStepCpuSeconds + 1};
  ::setrlimit(RLIMIT_CPU, &cpu);
  if (const uint64_t mapped = MappedBytes(); mapped > 0 && !kSanitized) {
    const rlimit memory{mapped + memory_bytes, mapped + memory_bytes};
    ::setrlimit(RLIMIT_AS, &memory);
  }
  const rlimit no_core{0, 0};
  ::setrlimit(RLIMIT_CORE, &no_core);
}

}  // namespace

int main(int argc, char** argv) {
  loupe::geometry::ReadLimits limits;
  if (argc != 4 || !ParseCount(argv[1], &limits.max_vertices) ||
      !ParseCount(argv[2], &limits.max_triangles) ||
      !ParseCount(argv[3], &limits.max_step_memory_bytes)) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string bytes = ReadStandardInput();
  LimitThisProcess(limits.max_step_memory_bytes);
  loupe::geometry::cad::WriteStepAnswer(
      1, loupe::geometry::cad::StepToMesh(bytes, limits));
  // Not exit(): OpenCASCADE's static tables are not torn down (and a leak
  // checker would report them as this program's).
  ::_exit(0);
}
