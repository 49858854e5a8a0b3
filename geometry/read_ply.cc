// PLY: ASCII and binary (little/big endian). The vertex element's x, y, z
// and the face element's vertex_indices (or vertex_index) list are read;
// every other element and property is skipped by its declared type.
#include <bit>
#include <cstring>

#include "base/prefault.h"
#include "base/status_macros.h"
#include "base/str_cat.h"
#include "geometry/read_internal.h"

namespace loupe::geometry::internal {
namespace {

constexpr uint64_t kMaxPolygon = 256;

enum class Type {
  kInt8,
  kUint8,
  kInt16,
  kUint16,
  kInt32,
  kUint32,
  kFloat32,
  kFloat64
};

bool ParseType(std::string_view name, Type* type) {
  static constexpr std::pair<std::string_view, Type> kNames[] = {
      {"char", Type::kInt8},      {"int8", Type::kInt8},
      {"uchar", Type::kUint8},    {"uint8", Type::kUint8},
      {"short", Type::kInt16},    {"int16", Type::kInt16},
      {"ushort", Type::kUint16},  {"uint16", Type::kUint16},
      {"int", Type::kInt32},      {"int32", Type::kInt32},
      {"uint", Type::kUint32},    {"uint32", Type::kUint32},
      {"float", Type::kFloat32},  {"float32", Type::kFloat32},
      {"double", Type::kFloat64}, {"float64", Type::kFloat64}};
  for (const auto& [n, t] : kNames) {
    if (n == name) {
      *type = t;
      return true;
    }
  }
  return false;
}

size_t SizeOf(Type t) {
  switch (t) {
    case Type::kInt8:
    case Type::kUint8:
      return 1;
    case Type::kInt16:
    case Type::kUint16:
      return 2;
    case Type::kInt32:
    case Type::kUint32:
    case Type::kFloat32:
      return 4;
    case Type::kFloat64:
      return 8;
  }
  return 1;
}

struct Property {
  std::string name;
  Type type = Type::kFloat32;
  bool is_list = false;
  Type count_type = Type::kUint8;
};

struct Element {
  std::string name;
  uint64_t count = 0;
  std::vector<Property> properties;
};

struct Header {
  MeshFormat format = MeshFormat::kPlyAscii;
  std::vector<Element> elements;
  size_t body = 0;  // Offset of the first byte after end_header.
};

absl::Status HeaderError(size_t line, std::string_view what) {
  return absl::InvalidArgumentError(
      StrCat("PLY header line ", line, ": ", what));
}

absl::StatusOr<Header> ParseHeader(std::string_view bytes) {
  Header header;
  LineReader lines(bytes);
  std::string_view line;
  std::string_view t[6];
  if (!lines.Next(&line) || (line != "ply" && line != "ply\r")) {
    return absl::InvalidArgumentError("PLY: missing the \"ply\" magic line");
  }
  bool has_format = false;
  while (lines.Next(&line)) {
    const size_t n = SplitTokens(line, t);
    if (n == 0) continue;
    if (t[0] == "end_header") {
      if (!has_format) return HeaderError(lines.number(), "no format line");
      header.body = lines.position();
      return header;
    }
    if (t[0] == "comment" || t[0] == "obj_info") continue;
    if (t[0] == "format") {
      if (n != 3 || t[2] != "1.0")
        return HeaderError(lines.number(), "bad format line");
      if (t[1] == "ascii") {
        header.format = MeshFormat::kPlyAscii;
      } else if (t[1] == "binary_little_endian") {
        header.format = MeshFormat::kPlyBinaryLittleEndian;
      } else if (t[1] == "binary_big_endian") {
        header.format = MeshFormat::kPlyBinaryBigEndian;
      } else {
        return HeaderError(lines.number(), "unknown format");
      }
      has_format = true;
    } else if (t[0] == "element") {
      int64_t count;
      if (n != 3 || !ParseInt(t[2], &count) || count < 0) {
        return HeaderError(lines.number(), "element needs a name and a count");
      }
      header.elements.push_back({std::string(t[1]), uint64_t(count), {}});
    } else if (t[0] == "property") {
      if (header.elements.empty()) {
        return HeaderError(lines.number(), "property before any element");
      }
      Property p;
      if (n == 5 && t[1] == "list") {
        p.is_list = true;
        if (!ParseType(t[2], &p.count_type) || !ParseType(t[3], &p.type) ||
            p.count_type == Type::kFloat32 || p.count_type == Type::kFloat64) {
          return HeaderError(lines.number(), "bad list property types");
        }
        p.name = std::string(t[4]);
      } else if (n == 3 && ParseType(t[1], &p.type)) {
        p.name = std::string(t[2]);
      } else {
        return HeaderError(lines.number(), "bad property line");
      }
      header.elements.back().properties.push_back(p);
    } else {
      return HeaderError(lines.number(),
                         StrCat("unexpected \"", t[0].substr(0, 20), "\""));
    }
  }
  return absl::InvalidArgumentError("PLY: no end_header (truncated)");
}

// Reads values one at a time from the body, in ASCII or binary.
class BodyReader {
 public:
  BodyReader(std::string_view body, MeshFormat format)
      : body_(body), format_(format) {}

  // Reads one value of `type`; false at the end of the data or on a
  // malformed token.
  bool Read(Type type, double* out) {
    if (format_ == MeshFormat::kPlyAscii) return ReadToken(out);
    const size_t size = SizeOf(type);
    if (body_.size() - pos_ < size) return false;
    unsigned char raw[8];
    std::memcpy(raw, body_.data() + pos_, size);
    pos_ += size;
    const bool big = format_ == MeshFormat::kPlyBinaryBigEndian;
    if (big == (std::endian::native == std::endian::little)) {
      std::reverse(raw, raw + size);
    }
    *out = Decode(type, raw);
    return true;
  }
  [[nodiscard]] size_t remaining() const { return body_.size() - pos_; }
  // Binary little-endian on a little-endian machine: values can be read
  // where they lie (ReadInPlace).
  [[nodiscard]] bool in_place() const {
    return format_ == MeshFormat::kPlyBinaryLittleEndian &&
           std::endian::native == std::endian::little;
  }
  [[nodiscard]] const char* here() const { return body_.data() + pos_; }
  void Skip(size_t n) { pos_ += n; }
  static double ReadInPlace(Type type, const char* at) {
    return Decode(type, reinterpret_cast<const unsigned char*>(at));
  }

 private:
  bool ReadToken(double* out) {
    while (pos_ < body_.size() && (IsSpace(body_[pos_]) || body_[pos_] == '\n'))
      ++pos_;
    size_t end = pos_;
    while (end < body_.size() && !IsSpace(body_[end]) && body_[end] != '\n')
      ++end;
    if (end == pos_) return false;
    const bool ok = ParseDouble(body_.substr(pos_, end - pos_), out);
    pos_ = end;
    return ok;
  }
  static double Decode(Type type, const unsigned char* raw) {
    switch (type) {
      case Type::kInt8:
        return static_cast<int8_t>(raw[0]);
      case Type::kUint8:
        return raw[0];
      case Type::kInt16: {
        int16_t v;
        std::memcpy(&v, raw, 2);
        return v;
      }
      case Type::kUint16: {
        uint16_t v;
        std::memcpy(&v, raw, 2);
        return v;
      }
      case Type::kInt32: {
        int32_t v;
        std::memcpy(&v, raw, 4);
        return v;
      }
      case Type::kUint32: {
        uint32_t v;
        std::memcpy(&v, raw, 4);
        return v;
      }
      case Type::kFloat32: {
        float v;
        std::memcpy(&v, raw, 4);
        return v;
      }
      case Type::kFloat64: {
        double v;
        std::memcpy(&v, raw, 8);
        return v;
      }
    }
    return 0;
  }

  std::string_view body_;
  MeshFormat format_;
  size_t pos_ = 0;
};

absl::Status CheckCounts(const Header& header, size_t body_size,
                         const ReadLimits& limits) {
  for (const auto& e : header.elements) {
    // Every item takes at least one byte (binary) or two (ASCII: a digit
    // and a separator) per property: a count the body cannot hold is a lie.
    const uint64_t per_item = std::max<size_t>(1, e.properties.size()) *
                              (header.format == MeshFormat::kPlyAscii ? 2 : 1);
    if (e.count > body_size / per_item + 1) {
      return absl::InvalidArgumentError(
          StrCat("PLY: element ", e.name, " declares ", e.count,
                 " items but the file holds at most ", body_size / per_item));
    }
    if (e.name == "vertex" && e.count > limits.max_vertices) {
      return absl::ResourceExhaustedError(StrCat(
          "PLY: ", e.count, " vertices; the limit is ", limits.max_vertices));
    }
    if (e.name == "face" && e.count > limits.max_triangles) {
      return absl::ResourceExhaustedError(StrCat(
          "PLY: ", e.count, " faces; the limit is ", limits.max_triangles));
    }
  }
  return absl::OkStatus();
}

bool IsIndexList(const Property& p) {
  return p.is_list && (p.name == "vertex_indices" || p.name == "vertex_index");
}

// Items of an element without lists, read where they lie: all that are
// whole and (vertices) finite; `*done` items.
void ReadRecordsInPlace(const Element& e, bool is_vertex, BodyReader* reader,
                        Mesh* mesh, uint64_t* done) {
  size_t size = 0;
  int at[3] = {-1, -1, -1};  // Offsets of x, y, z.
  Type type[3] = {Type::kFloat32, Type::kFloat32, Type::kFloat32};
  for (const auto& p : e.properties) {
    if (p.is_list) return;
    static constexpr std::string_view kAxes[3] = {"x", "y", "z"};
    for (int k = 0; k < 3; ++k) {
      if (p.name == kAxes[k]) {
        at[k] = static_cast<int>(size);
        type[k] = p.type;
      }
    }
    size += SizeOf(p.type);
  }
  uint64_t i = 0;
  const uint64_t whole = size == 0 ? e.count : reader->remaining() / size;
  // The usual layout (float x, y, z first), without a switch per value.
  if (is_vertex && at[0] == 0 && at[1] == 4 && at[2] == 8 &&
      type[0] == Type::kFloat32 && type[1] == Type::kFloat32 &&
      type[2] == Type::kFloat32) {
    const char* record = reader->here();
    for (; i < std::min<uint64_t>(e.count, whole); ++i, record += size) {
      float c[3];
      std::memcpy(c, record, sizeof c);
      const Vec3 v{c[0], c[1], c[2]};
      if (!Finite(v)) break;
      mesh->vertices.push_back(v);
    }
    reader->Skip(i * size);
  }
  for (; i < std::min<uint64_t>(e.count, whole); ++i) {
    if (is_vertex) {
      const char* record = reader->here();
      double c[3] = {0, 0, 0};
      for (int k = 0; k < 3; ++k) {
        if (at[k] >= 0) c[k] = BodyReader::ReadInPlace(type[k], record + at[k]);
      }
      const Vec3 v{c[0], c[1], c[2]};
      if (!Finite(v)) break;
      mesh->vertices.push_back(v);
    }
    reader->Skip(size);
  }
  *done = i;
}

// Faces whose only property is their index list, read where they lie: all
// that are whole, triangles, and in range; `*done` items.
void ReadFacesInPlace(const Element& e, BodyReader* reader, Mesh* mesh,
                      uint64_t* done) {
  if (e.properties.size() != 1 || !IsIndexList(e.properties[0])) return;
  const Type count_type = e.properties[0].count_type;
  const Type index_type = e.properties[0].type;
  const size_t count_size = SizeOf(count_type), index_size = SizeOf(index_type);
  const double vertices = static_cast<double>(mesh->vertices.size());
  uint64_t i = 0;
  // The usual layout (uchar count, int or uint indices), without doubles.
  if (count_type == Type::kUint8 &&
      (index_type == Type::kInt32 || index_type == Type::kUint32)) {
    const uint64_t whole =
        std::min<uint64_t>(e.count, reader->remaining() / 13);
    const char* item = reader->here();
    for (; i < whole; ++i, item += 13) {
      uint32_t t[3];
      std::memcpy(t, item + 1, sizeof t);
      // An int32 below zero is above any vertex count as a uint32.
      if (item[0] != 3 || t[0] >= vertices || t[1] >= vertices ||
          t[2] >= vertices) {
        break;
      }
      mesh->triangles.push_back({t[0], t[1], t[2]});
    }
    reader->Skip(i * 13);
  }
  for (; i < e.count; ++i) {
    if (reader->remaining() < count_size + 3 * index_size) break;
    const char* item = reader->here();
    if (BodyReader::ReadInPlace(count_type, item) != 3) break;
    Triangle t;
    bool ok = true;
    for (int k = 0; k < 3; ++k) {
      const double v = BodyReader::ReadInPlace(
          index_type, item + count_size + k * index_size);
      ok = ok && v >= 0 && v < vertices && v == std::floor(v);
      t[k] = ok ? static_cast<uint32_t>(v) : 0;
    }
    if (!ok) break;
    mesh->triangles.push_back(t);
    reader->Skip(count_size + 3 * index_size);
  }
  *done = i;
}

}  // namespace

absl::StatusOr<ReadMeshResult> ParsePly(std::string_view bytes,
                                        const ReadLimits& limits) {
  auto header = ParseHeader(bytes);
  if (!header.ok()) return header.status();
  const std::string_view body = bytes.substr(header->body);
  RETURN_IF_ERROR(CheckCounts(*header, body.size(), limits));
  ReadMeshResult result;
  result.format = header->format;
  Mesh& mesh = result.mesh;
  BodyReader reader(body, header->format);
  bool has_vertices = false;
  std::vector<uint32_t> polygon;
  for (const auto& e : header->elements) {
    const bool is_vertex = e.name == "vertex";
    const bool is_face = e.name == "face";
    if (is_vertex) {
      ReservePrefaulted(&mesh.vertices, e.count);
      has_vertices = true;
    }
    if (is_face) ReservePrefaulted(&mesh.triangles, e.count);
    // The common layouts read fast where they lie; the general reader
    // takes over from the first item they cannot (and names the problem).
    uint64_t i = 0;
    if (reader.in_place() && is_face) {
      ReadFacesInPlace(e, &reader, &mesh, &i);
    } else if (reader.in_place()) {
      ReadRecordsInPlace(e, is_vertex, &reader, &mesh, &i);
    }
    for (; i < e.count; ++i) {
      Vec3 v;
      polygon.clear();
      for (const auto& p : e.properties) {
        auto truncated = [&] {
          return absl::InvalidArgumentError(
              StrCat("PLY ", e.name, " ", i, ": ", p.name,
                     " is missing or malformed (truncated?)"));
        };
        if (p.is_list) {
          double count;
          if (!reader.Read(p.count_type, &count)) return truncated();
          if (count < 0 || count > kMaxPolygon) {
            return absl::InvalidArgumentError(StrCat(
                "PLY ", e.name, " ", i, ": a list of ", count, " items"));
          }
          const bool indices = is_face && IsIndexList(p);
          for (int k = 0; k < static_cast<int>(count); ++k) {
            double value;
            if (!reader.Read(p.type, &value)) return truncated();
            if (!indices) continue;
            if (value < 0 ||
                value >= static_cast<double>(mesh.vertices.size()) ||
                value != std::floor(value)) {
              return absl::InvalidArgumentError(StrCat(
                  "PLY face ", i, ": vertex index ", value,
                  " is out of range (", mesh.vertices.size(), " vertices)"));
            }
            polygon.push_back(static_cast<uint32_t>(value));
          }
          continue;
        }
        double value;
        if (!reader.Read(p.type, &value)) return truncated();
        if (!is_vertex) continue;
        if (p.name == "x") v.x = value;
        if (p.name == "y") v.y = value;
        if (p.name == "z") v.z = value;
      }
      if (is_vertex) {
        if (!Finite(v)) {
          return absl::InvalidArgumentError(
              StrCat("PLY vertex ", i, ": a coordinate is not finite"));
        }
        mesh.vertices.push_back(v);
      }
      if (is_face) {
        if (polygon.size() < 3) {
          return absl::InvalidArgumentError(
              StrCat("PLY face ", i, ": fewer than three vertex indices"));
        }
        if (mesh.triangles.size() + polygon.size() - 2 > limits.max_triangles) {
          return absl::ResourceExhaustedError(
              StrCat("PLY: more than ", limits.max_triangles, " triangles"));
        }
        for (size_t k = 1; k + 1 < polygon.size(); ++k) {
          mesh.triangles.push_back({polygon[0], polygon[k], polygon[k + 1]});
        }
      }
    }
  }
  if (!has_vertices || mesh.triangles.empty()) {
    return absl::InvalidArgumentError("PLY: needs a vertex and a face element");
  }
  return result;
}

}  // namespace loupe::geometry::internal
