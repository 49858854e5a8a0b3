// STEP through OpenCASCADE: checked (step_scan.h), parsed, transferred,
// tessellated with a stated chordal tolerance, and welded into a Mesh.
#include <BRepBndLib.hxx>
#include <BRepMesh_IncrementalMesh.hxx>
#include <BRep_Tool.hxx>
#include <Bnd_Box.hxx>
#include <Message.hxx>
#include <Message_Messenger.hxx>
#include <Poly_Triangulation.hxx>
#include <STEPControl_Reader.hxx>
#include <Standard_Failure.hxx>
#include <TopExp_Explorer.hxx>
#include <TopoDS.hxx>
#include <TopoDS_Face.hxx>
#include <algorithm>
#include <cmath>
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

// OpenCASCADE's STEP reader keeps global state (its schema's protocol,
// parameters): one read at a time. Its messages are not printed.
std::mutex& ReaderMutex() {
  static std::mutex* mu = [] {
    Message::DefaultMessenger()->ChangePrinters().Clear();
    return new std::mutex;
  }();
  return *mu;
}

// The file's shape (in millimetres: OpenCASCADE converts the file's
// length unit to its default, the millimetre).
absl::StatusOr<TopoDS_Shape> Transfer(std::string_view bytes) {
  std::lock_guard lock(ReaderMutex());
  STEPControl_Reader reader;
  std::istringstream in{std::string(bytes)};
  const IFSelect_ReturnStatus read = reader.ReadStream("loupe.step", in);
  if (read != IFSelect_RetDone) {
    return Invalid(StrCat("the file does not parse (OpenCASCADE status ",
                          static_cast<int>(read), ")"));
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

}  // namespace

absl::StatusOr<ReadMeshResult> ParseStep(std::string_view bytes,
                                         const ReadLimits& limits) {
  auto facts = ScanStep(bytes, limits);
  if (!facts.ok()) return facts.status();
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
    auto mesh = Triangles(*shape, limits);
    if (!mesh.ok()) return mesh.status();
    ReadMeshResult result;
    result.mesh = *std::move(mesh);
    result.format = MeshFormat::kStep;
    return result;
  } catch (const Standard_Failure& e) {
    return Invalid(StrCat("OpenCASCADE failed: ", e.GetMessageString()));
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError("STEP: out of memory");
  } catch (const std::exception& e) {
    return Invalid(StrCat("OpenCASCADE failed: ", e.what()));
  }
}

}  // namespace loupe::geometry::cad
