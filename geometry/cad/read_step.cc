// STEP through OpenCASCADE: checked (step_scan.h), parsed, transferred,
// tessellated with a stated chordal tolerance, and welded into a Mesh.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <BRepBndLib.hxx>
#include <BRepMesh_IncrementalMesh.hxx>
#include <BRep_Tool.hxx>
#include <Bnd_Box.hxx>
#include <Interface_Check.hxx>
#include <Interface_CheckIterator.hxx>
#include <Interface_InterfaceModel.hxx>
#include <Message.hxx>
#include <Message_Messenger.hxx>
#include <Poly_Triangulation.hxx>
#include <STEPControl_Reader.hxx>
#include <Standard_Failure.hxx>
#include <TopExp_Explorer.hxx>
#include <TopoDS.hxx>
#include <TopoDS_Face.hxx>
#include <XSControl_WorkSession.hxx>
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <sstream>

#include "base/str_cat.h"
#include "geometry/cad/cad_readers.h"
#include "geometry/cad/step_scan.h"
#include "geometry/read_internal.h"

namespace loupe::geometry::cad {
namespace {

absl::Status Invalid(std::string_view what) {
  return absl::InvalidArgumentError(StrCat("STEP: ", what));
}

// One STEP read at a time (each in a process of its own, below).
std::mutex& ReaderMutex() {
  static std::mutex* mu = new std::mutex;
  return *mu;
}

// The file's shape (in millimetres: OpenCASCADE converts the file's
// length unit to its default, the millimetre).
absl::StatusOr<TopoDS_Shape> Transfer(std::string_view bytes) {
  Message::DefaultMessenger()->ChangePrinters().Clear();  // Not printed.
  STEPControl_Reader reader;
  std::istringstream in{std::string(bytes)};
  const IFSelect_ReturnStatus read = reader.ReadStream("loupe.step", in);
  if (read != IFSelect_RetDone) {
    return Invalid(StrCat("the file does not parse (OpenCASCADE status ",
                          static_cast<int>(read), ")"));
  }
  // Entities whose parameters have the wrong type or count are refused:
  // the transfer would dereference what they lack (the fuzzer found a
  // VERTEX_POINT naming a non-point crash OpenCASCADE 7.6).
  Interface_CheckIterator checks = reader.WS()->ModelCheckList(false);
  if (!checks.IsEmpty(true)) {
    for (checks.Start(); checks.More(); checks.Next()) {
      const Handle(Interface_Check)& check = checks.Value();
      if (check->NbFails() == 0) continue;
      const Handle(Standard_Transient)& entity = check->Entity();
      const Handle(Interface_InterfaceModel) model = reader.Model();
      const int id = !entity.IsNull() && !model.IsNull() ? model->Number(entity)
                                                         : checks.Number();
      return Invalid(
          StrCat("entity ", id, " (in file order): ", check->CFail(1)));
    }
  }
  if (reader.NbRootsForTransfer() == 0) {
    return Invalid("no shape to transfer (no product with geometry)");
  }
  reader.TransferRoots();
  TopoDS_Shape shape = reader.OneShape();
  if (shape.IsNull()) {
    return Invalid("no shape could be transferred from the file");
  }
  return shape;
}

// Appends the face triangulations to a mesh, corners welded where they
// are bit-identical (neighbouring faces share their edges' points).
absl::StatusOr<Mesh> Triangles(const TopoDS_Shape& shape,
                               const ReadLimits& limits) {
  Mesh mesh;
  internal::Welder welder(&mesh);
  int face_number = 0;
  for (TopExp_Explorer ex(shape, TopAbs_FACE); ex.More(); ex.Next()) {
    ++face_number;
    const TopoDS_Face& face = TopoDS::Face(ex.Current());
    TopLoc_Location location;
    const Handle(Poly_Triangulation) t =
        BRep_Tool::Triangulation(face, location);
    if (t.IsNull()) {
      return Invalid(StrCat("face ", face_number, " could not be tessellated"));
    }
    if (mesh.triangles.size() + t->NbTriangles() > limits.max_triangles) {
      return absl::ResourceExhaustedError(
          StrCat("STEP: more than ", limits.max_triangles,
                 " triangles once tessellated (the limit)"));
    }
    const gp_Trsf transform = location.Transformation();
    std::vector<uint32_t> index(t->NbNodes() + 1);
    for (int i = 1; i <= t->NbNodes(); ++i) {
      const gp_Pnt p = t->Node(i).Transformed(transform);
      const Vec3 v{p.X(), p.Y(), p.Z()};
      if (!internal::Finite(v)) {
        return Invalid(StrCat("face ", face_number, ": a point is not finite"));
      }
      index[i] = welder.Index(v);
    }
    if (mesh.vertices.size() > limits.max_vertices) {
      return absl::ResourceExhaustedError(
          StrCat("STEP: more than ", limits.max_vertices,
                 " vertices once tessellated (the limit)"));
    }
    const bool reversed = face.Orientation() == TopAbs_REVERSED;
    for (int i = 1; i <= t->NbTriangles(); ++i) {
      int a, b, c;
      t->Triangle(i).Get(a, b, c);
      if (reversed) std::swap(b, c);
      mesh.triangles.push_back({index[a], index[b], index[c]});
    }
  }
  if (mesh.triangles.empty()) {
    return Invalid("the shape has no faces (wireframe or points only)");
  }
  return mesh;
}

// The whole of OpenCASCADE's work: transfer, tessellation, triangles.
absl::StatusOr<Mesh> StepToMesh(std::string_view bytes,
                                const ReadLimits& limits) {
  try {
    auto shape = Transfer(bytes);
    if (!shape.ok()) return shape.status();
    Bnd_Box box;
    BRepBndLib::Add(*shape, box);
    if (box.IsVoid()) return Invalid("the shape is empty");
    const double diagonal = std::sqrt(box.SquareExtent());
    if (!std::isfinite(diagonal) || diagonal > 1e7) {
      return Invalid("the shape is larger than 10 km or not finite");
    }
    const double chordal = std::max(kStepChordalToleranceMm, diagonal * 1e-5);
    BRepMesh_IncrementalMesh mesher(*shape, chordal, false,
                                    kStepAngularToleranceRad, false);
    if (!mesher.IsDone()) return Invalid("the shape could not be tessellated");
    return Triangles(*shape, limits);
  } catch (const Standard_Failure& e) {
    return Invalid(StrCat("OpenCASCADE failed: ", e.GetMessageString()));
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(StrCat(
        "STEP: reading needs more than ", limits.max_step_memory_bytes >> 20,
        " MiB of memory (the limit)"));
  } catch (const std::exception& e) {
    return Invalid(StrCat("OpenCASCADE failed: ", e.what()));
  }
}

bool WriteAll(int fd, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// The child's answer on the pipe: a status code (0 OK) and either the
// message, or the vertex and triangle counts and arrays.
void WriteAnswer(int fd, const absl::StatusOr<Mesh>& mesh) {
  const int32_t code = static_cast<int32_t>(mesh.status().code());
  if (!WriteAll(fd, &code, sizeof code)) return;
  if (!mesh.ok()) {
    const std::string message(mesh.status().message());
    const uint64_t n = message.size();
    if (WriteAll(fd, &n, sizeof n)) WriteAll(fd, message.data(), n);
    return;
  }
  const uint64_t counts[2] = {mesh->vertices.size(), mesh->triangles.size()};
  if (!WriteAll(fd, counts, sizeof counts)) return;
  if (!WriteAll(fd, mesh->vertices.data(), counts[0] * sizeof(Vec3))) return;
  WriteAll(fd, mesh->triangles.data(), counts[1] * sizeof(Triangle));
}

absl::StatusOr<Mesh> ParseAnswer(std::string_view a) {
  auto take = [&a](void* out, size_t n) {
    if (a.size() < n) return false;
    std::memcpy(out, a.data(), n);
    a.remove_prefix(n);
    return true;
  };
  int32_t code = 0;
  uint64_t n[2] = {0, 0};
  if (!take(&code, sizeof code) || !take(n, code == 0 ? 16 : 8)) {
    return absl::InternalError("STEP: the reader process answered nothing");
  }
  if (code != 0) {
    if (a.size() != n[0]) {
      return absl::InternalError("STEP: the reader process's answer is cut");
    }
    return absl::Status(static_cast<absl::StatusCode>(code), std::string(a));
  }
  if (n[0] > a.size() / sizeof(Vec3) ||
      a.size() != n[0] * sizeof(Vec3) + n[1] * sizeof(Triangle)) {
    return absl::InternalError("STEP: the reader process's answer is cut");
  }
  Mesh mesh;
  mesh.vertices.resize(n[0]);
  mesh.triangles.resize(n[1]);
  take(mesh.vertices.data(), n[0] * sizeof(Vec3));
  take(mesh.triangles.data(), n[1] * sizeof(Triangle));
  return mesh;
}

// OpenCASCADE dereferences what malformed entities lack and follows what
// they name without bounds (the fuzzer found null pointers and a stack
// overflow in 7.6 after the checks above), so it runs in a child process
// with a CPU limit: a crash or a runaway file fails this read, never the
// caller. The child only runs OpenCASCADE and writes its answer; nothing
// in this process calls OpenCASCADE, so no lock of its can be held at the
// fork.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

// The address space this process has mapped, from /proc/self/statm (raw
// reads: called in the forked child); 0 if unreadable.
uint64_t MappedBytes() {
  const int fd = ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char text[64] = {};
  const ssize_t n = ::read(fd, text, sizeof text - 1);
  ::close(fd);
  if (n <= 0) return 0;
  return std::strtoull(text, nullptr, 10) *
         static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

absl::StatusOr<Mesh> StepToMeshIsolated(std::string_view bytes,
                                        const ReadLimits& limits) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return absl::ResourceExhaustedError("STEP: cannot open a pipe");
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return absl::ResourceExhaustedError("STEP: cannot start the reader");
  }
  if (pid == 0) {
    ::close(fds[0]);
    const rlimit cpu{kStepCpuSeconds, kStepCpuSeconds + 1};
    ::setrlimit(RLIMIT_CPU, &cpu);
    // OpenCASCADE's memory: what the child inherited plus the limit (an
    // allocation beyond it fails; bad_alloc is answered as such).
    // Not under AddressSanitizer: its allocator spins when the limit
    // refuses its mappings.
    if (const uint64_t mapped = MappedBytes(); mapped > 0 && !kSanitized) {
      const rlimit memory{mapped + limits.max_step_memory_bytes,
                          mapped + limits.max_step_memory_bytes};
      ::setrlimit(RLIMIT_AS, &memory);
    }
    // A crash ends the child by its signal, without a core file and
    // without the handlers a sanitizer or fuzzer installed in the parent.
    const rlimit no_core{0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);
    for (int signal : {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL}) {
      ::signal(signal, SIG_DFL);
    }
    WriteAnswer(fds[1], StepToMesh(bytes, limits));
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string answer;
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fds[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    answer.append(buffer, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status)) {
    const int signal = WTERMSIG(status);
    if (signal == SIGXCPU || signal == SIGKILL) {
      return absl::ResourceExhaustedError(
          StrCat("STEP: reading took more than ", kStepCpuSeconds,
                 " s of CPU (the limit)"));
    }
    return Invalid(StrCat("OpenCASCADE crashed on this file (signal ", signal,
                          "); it is malformed"));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    // A sanitizer's handler ends a crashed child with a status instead.
    return Invalid(StrCat("OpenCASCADE crashed on this file (exit status ",
                          WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                          "); it is malformed"));
  }
  return ParseAnswer(answer);
}

}  // namespace

absl::StatusOr<ReadMeshResult> ParseStep(std::string_view bytes,
                                         const ReadLimits& limits) {
  auto facts = ScanStep(bytes, limits);
  if (!facts.ok()) return facts.status();
  std::lock_guard lock(ReaderMutex());
  auto mesh = StepToMeshIsolated(bytes, limits);
  if (!mesh.ok()) return mesh.status();
  ReadMeshResult result;
  result.mesh = *std::move(mesh);
  result.format = MeshFormat::kStep;
  return result;
}

}  // namespace loupe::geometry::cad
