// 3MF through lib3mf 1.8 (Debian): the ZIP directory checked first, then
// every build item's mesh, through its components, in millimetres.
#include <Model/COM/NMR_DLLInterfaces.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "base/str_cat.h"
#include "geometry/cad/cad_readers.h"
#include "geometry/read_internal.h"

namespace loupe::geometry::cad {
namespace {

absl::Status Invalid(std::string_view what) {
  return absl::InvalidArgumentError(StrCat("3MF: ", what));
}

uint64_t Le(std::string_view b, size_t at, int bytes) {
  uint64_t v = 0;
  for (int k = bytes - 1; k >= 0; --k) {
    v = v << 8 | static_cast<uint8_t>(b[at + k]);
  }
  return v;
}

constexpr uint32_t kMax32 = 0xFFFFFFFF;

// The central directory's place and entry count, from the end record (or
// its ZIP64 form, which lib3mf writes).
struct Directory {
  uint64_t entries = 0, size = 0, at = 0;
};

absl::StatusOr<Directory> FindDirectory(std::string_view b) {
  // The end-of-central-directory record: within the last 65,557 bytes.
  const size_t lowest = b.size() > 65557 ? b.size() - 65557 : 0;
  for (size_t eocd = b.size() - 22;; --eocd) {
    if (Le(b, eocd, 4) == 0x06054b50) {
      Directory d{Le(b, eocd + 10, 2), Le(b, eocd + 12, 4),
                  Le(b, eocd + 16, 4)};
      if (d.entries != 0xFFFF && d.size != kMax32 && d.at != kMax32) {
        if (d.at + d.size > eocd) break;
        return d;
      }
      // ZIP64: a locator just before names the ZIP64 end record.
      if (eocd < 20 || Le(b, eocd - 20, 4) != 0x07064b50) break;
      const uint64_t z = Le(b, eocd - 20 + 8, 8);
      if (z > eocd - 20 || eocd - 20 - z < 56 || Le(b, z, 4) != 0x06064b50) {
        break;
      }
      d = {Le(b, z + 32, 8), Le(b, z + 40, 8), Le(b, z + 48, 8)};
      if (d.at > z || d.size > z - d.at) break;
      return d;
    }
    if (eocd == lowest) break;
  }
  return Invalid("truncated or not a ZIP: no valid end-of-directory record");
}

// One directory entry's unpacked size and local header offset, ZIP64
// extra field read where the 32-bit fields say so; nullopt if malformed.
struct Entry {
  uint64_t packed = 0, size = 0, offset = 0, length = 0;
};

std::optional<Entry> ReadEntry(std::string_view dir, size_t at) {
  if (at + 46 > dir.size() || Le(dir, at, 4) != 0x02014b50) {
    return std::nullopt;
  }
  const uint64_t name = Le(dir, at + 28, 2), extra = Le(dir, at + 30, 2),
                 comment = Le(dir, at + 32, 2);
  Entry e{Le(dir, at + 20, 4), Le(dir, at + 24, 4), Le(dir, at + 42, 4),
          46 + name + extra + comment};
  if (at + e.length > dir.size()) return std::nullopt;
  std::string_view x = dir.substr(at + 46 + name, extra);
  while (x.size() >= 4) {
    const uint64_t id = Le(x, 0, 2), n = Le(x, 2, 2);
    if (4 + n > x.size()) return std::nullopt;
    if (id == 1) {
      std::string_view f = x.substr(4, n);
      for (uint64_t* field : {&e.size, &e.packed, &e.offset}) {
        if (*field != kMax32) continue;
        if (f.size() < 8) return std::nullopt;
        *field = Le(f, 0, 8);
        f.remove_prefix(8);
      }
    }
    x.remove_prefix(4 + n);
  }
  if (e.size == kMax32 || e.packed == kMax32 || e.offset == kMax32) {
    return std::nullopt;  // Marked as ZIP64 without the ZIP64 field.
  }
  return e;
}

// The ZIP directory: entries and their unpacked sizes are bounded before
// lib3mf (libzip) unpacks anything, so a ZIP bomb is refused here.
absl::Status CheckZip(std::string_view b, const ReadLimits& limits) {
  if (b.size() > limits.max_cad_bytes) {
    return absl::ResourceExhaustedError(StrCat(
        "3MF: ", b.size(), " bytes; the limit is ", limits.max_cad_bytes));
  }
  if (b.size() < 22 || b.substr(0, 4) != std::string_view("PK\x03\x04", 4)) {
    return Invalid("not a ZIP package (3MF files are ZIP archives)");
  }
  auto d = FindDirectory(b);
  if (!d.ok()) return d.status();
  if (d->entries > k3mfMaxEntries) {
    return absl::ResourceExhaustedError(StrCat(
        "3MF: ", d->entries, " ZIP entries; the limit is ", k3mfMaxEntries));
  }
  const std::string_view dir = b.substr(d->at, d->size);
  uint64_t unpacked = 0;
  size_t at = 0;
  for (uint64_t i = 0; i < d->entries; ++i) {
    const std::optional<Entry> e = ReadEntry(dir, at);
    if (!e) return Invalid(StrCat("ZIP directory entry ", i, " is malformed"));
    if (e->offset > d->at || e->packed > d->at - e->offset) {
      return Invalid(StrCat("ZIP entry ", i, " lies beyond its data"));
    }
    unpacked += e->size;
    if (unpacked > limits.max_3mf_unpacked_bytes) {
      return absl::ResourceExhaustedError(StrCat("3MF: unpacks to more than ",
                                                 limits.max_3mf_unpacked_bytes,
                                                 " bytes (the limit)"));
    }
    at += e->length;
  }
  return absl::OkStatus();
}

// lib3mf's objects are reference counted: released when the holder goes.
// A lib3mf object handle.
using H = NMR::PLib3MFBase*;
struct Release {
  void operator()(H p) const {
    if (p != nullptr) NMR::lib3mf_release(p);
  }
};
using Held = std::unique_ptr<NMR::PLib3MFBase, Release>;

std::string LastError(H instance) {
  DWORD code = 0;
  LPCSTR message = nullptr;
  NMR::lib3mf_getlasterror(instance, &code, &message);
  char hex[16];
  std::snprintf(hex, sizeof hex, "%08X", static_cast<unsigned>(code));
  return StrCat(message != nullptr ? message : "unknown error", " (lib3mf 0x",
                hex, ")");
}

// A 3x4 affine map, rows (x, y, z), the translation last.
struct Affine {
  double m[3][4] = {{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}};
  static Affine Of(const NMR::MODELTRANSFORM& t) {
    Affine a;
    for (int r = 0; r < 3; ++r) {
      for (int c = 0; c < 4; ++c) a.m[r][c] = t.m_fFields[r][c];
    }
    return a;
  }
  Affine Then(const Affine& outer) const {  // outer(this(x)).
    Affine out;
    for (int r = 0; r < 3; ++r) {
      for (int c = 0; c < 4; ++c) {
        double v = c == 3 ? outer.m[r][3] : 0;
        for (int k = 0; k < 3; ++k) v += outer.m[r][k] * m[k][c];
        out.m[r][c] = v;
      }
    }
    return out;
  }
  Vec3 Apply(const Vec3& p) const {
    auto row = [&](int r) {
      return m[r][0] * p.x + m[r][1] * p.y + m[r][2] * p.z + m[r][3];
    };
    return {row(0), row(1), row(2)};
  }
  bool Mirrors() const {  // Negative determinant: triangles turn over.
    return m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
               m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
               m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]) <
           0;
  }
};

class Collector {
 public:
  Collector(const ReadLimits& limits, double scale)
      : limits_(limits), scale_(scale) {}

  // Adds `object` placed by `place`, through its components.
  absl::Status Add(H object, const Affine& place, int depth) {
    if (depth > k3mfMaxComponentDepth) {
      return Invalid(
          StrCat("components nested deeper than ", k3mfMaxComponentDepth));
    }
    BOOL is_mesh = false, is_components = false;
    NMR::lib3mf_object_ismeshobject(object, &is_mesh);
    NMR::lib3mf_object_iscomponentsobject(object, &is_components);
    if (is_mesh) return AddMesh(object, place);
    if (!is_components) return absl::OkStatus();  // Not geometry.
    DWORD count = 0;
    if (NMR::lib3mf_componentsobject_getcomponentcount(object, &count) != 0) {
      return Invalid(LastError(object));
    }
    for (DWORD i = 0; i < count; ++i) {
      H raw = nullptr;
      if (NMR::lib3mf_componentsobject_getcomponent(object, i, &raw) != 0) {
        return Invalid(LastError(object));
      }
      Held component(raw);
      H inner_raw = nullptr;
      if (NMR::lib3mf_component_getobjectresource(raw, &inner_raw) != 0) {
        return Invalid(LastError(raw));
      }
      Held inner(inner_raw);
      NMR::MODELTRANSFORM t;
      BOOL has = false;
      NMR::lib3mf_component_hastransform(raw, &has);
      Affine local;
      if (has && NMR::lib3mf_component_gettransform(raw, &t) == 0) {
        local = Affine::Of(t);
      }
      if (auto s = Add(inner_raw, local.Then(place), depth + 1); !s.ok()) {
        return s;
      }
    }
    return absl::OkStatus();
  }

  Mesh Take() { return std::move(mesh_); }

 private:
  absl::Status AddMesh(H object, const Affine& place) {
    DWORD nv = 0, nt = 0;
    NMR::lib3mf_meshobject_getvertexcount(object, &nv);
    NMR::lib3mf_meshobject_gettrianglecount(object, &nt);
    if (mesh_.vertices.size() + nv > limits_.max_vertices) {
      return absl::ResourceExhaustedError(StrCat(
          "3MF: more than ", limits_.max_vertices, " vertices (the limit)"));
    }
    if (mesh_.triangles.size() + nt > limits_.max_triangles) {
      return absl::ResourceExhaustedError(StrCat(
          "3MF: more than ", limits_.max_triangles, " triangles (the limit)"));
    }
    std::vector<NMR::MODELMESHVERTEX> v(nv);
    std::vector<NMR::MODELMESHTRIANGLE> t(nt);
    DWORD got = 0;
    if ((nv > 0 &&
         NMR::lib3mf_meshobject_getvertices(object, v.data(), nv, &got) != 0) ||
        (nt > 0 && NMR::lib3mf_meshobject_gettriangleindices(object, t.data(),
                                                             nt, &got) != 0)) {
      return Invalid(LastError(object));
    }
    const auto base = static_cast<uint32_t>(mesh_.vertices.size());
    for (const auto& p : v) {
      const Vec3 q =
          place.Apply({p.m_fPosition[0] * scale_, p.m_fPosition[1] * scale_,
                       p.m_fPosition[2] * scale_});
      if (!internal::Finite(q)) return Invalid("a vertex is not finite");
      mesh_.vertices.push_back(q);
    }
    const bool mirrors = place.Mirrors();
    for (size_t i = 0; i < t.size(); ++i) {
      const DWORD* k = t[i].m_nIndices;
      if (k[0] >= nv || k[1] >= nv || k[2] >= nv) {
        return Invalid(StrCat("triangle ", i, ": a vertex index is out of ",
                              "range (", nv, " vertices)"));
      }
      mesh_.triangles.push_back({base + k[0], base + (mirrors ? k[2] : k[1]),
                                 base + (mirrors ? k[1] : k[2])});
    }
    return absl::OkStatus();
  }

  const ReadLimits& limits_;
  const double scale_;
  Mesh mesh_;
};

// Millimetres per model unit.
double UnitScale(DWORD unit) {
  switch (unit) {
    case NMR::MODELUNIT_MICROMETER:
      return 0.001;
    case NMR::MODELUNIT_CENTIMETER:
      return 10;
    case NMR::MODELUNIT_INCH:
      return 25.4;
    case NMR::MODELUNIT_FOOT:
      return 304.8;
    case NMR::MODELUNIT_METER:
      return 1000;
    default:
      return 1;
  }
}

}  // namespace

absl::StatusOr<ReadMeshResult> Parse3mf(std::string_view bytes,
                                        const ReadLimits& limits) {
  if (auto s = CheckZip(bytes, limits); !s.ok()) return s;
  H raw_model = nullptr;
  if (NMR::lib3mf_createmodel(&raw_model) != 0) {
    return absl::InternalError("3MF: lib3mf could not create a model");
  }
  Held model(raw_model);
  H raw_reader = nullptr;
  if (NMR::lib3mf_model_queryreader(raw_model, "3mf", &raw_reader) != 0) {
    return absl::InternalError("3MF: lib3mf has no 3MF reader");
  }
  Held reader(raw_reader);
  std::vector<BYTE> copy(bytes.begin(), bytes.end());
  if (NMR::lib3mf_reader_readfrombuffer(raw_reader, copy.data(), copy.size()) !=
      0) {
    return Invalid(LastError(raw_reader));
  }
  copy = {};
  DWORD unit = NMR::MODELUNIT_MILLIMETER;
  NMR::lib3mf_model_getunit(raw_model, &unit);
  Collector collector(limits, UnitScale(unit));
  H raw_items = nullptr;
  if (NMR::lib3mf_model_getbuilditems(raw_model, &raw_items) != 0) {
    return Invalid(LastError(raw_model));
  }
  Held items(raw_items);
  int n = 0;
  for (BOOL more = false;
       NMR::lib3mf_builditemiterator_movenext(raw_items, &more) == 0 && more;
       ++n) {
    H raw_item = nullptr;
    if (NMR::lib3mf_builditemiterator_getcurrent(raw_items, &raw_item) != 0) {
      return Invalid(LastError(raw_items));
    }
    Held item(raw_item);
    H raw_object = nullptr;
    if (NMR::lib3mf_builditem_getobjectresource(raw_item, &raw_object) != 0) {
      return Invalid(StrCat("build item ", n, ": ", LastError(raw_item)));
    }
    Held object(raw_object);
    NMR::MODELTRANSFORM t;
    Affine place;
    if (NMR::lib3mf_builditem_getobjecttransform(raw_item, &t) == 0) {
      place = Affine::Of(t);
    }
    if (auto s = collector.Add(raw_object, place, 0); !s.ok()) return s;
  }
  ReadMeshResult result;
  result.mesh = collector.Take();
  result.format = MeshFormat::k3mf;
  if (result.mesh.triangles.empty()) {
    return Invalid("no triangles in the build (no build item with a mesh)");
  }
  return result;
}

}  // namespace loupe::geometry::cad
