// STEP through OpenCASCADE (see step_to_mesh.h): run only inside the
// reader program.
#include "geometry/cad/step_to_mesh.h"

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
#include <cmath>
#include <sstream>

#include "base/str_cat.h"
#include "geometry/cad/cad_readers.h"
#include "geometry/read_internal.h"

namespace loupe::geometry::cad {
namespace {

absl::Status Invalid(std::string_view what) {
  return absl::InvalidArgumentError(StrCat("STEP: ", what));
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
}  // namespace

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

}  // namespace loupe::geometry::cad
