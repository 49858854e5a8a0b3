#include "geometry/read_mesh.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <thread>

#include "geometry/geometry_hash.h"
#include "geometry/test_meshes.h"

namespace loupe::geometry {
namespace {

using testing::Band;

Mesh Small() { return Band(testing::PlainBand(8.675, 10.175, 4.0, 16)); }

TEST(ReadMeshTest, EveryFormatReadsTheSameSurface) {
  const Mesh band = Small();
  const std::pair<std::string, std::string> files[] = {
      {"ring.stl", testing::WriteStlBinary(band)},
      {"ring.stl", testing::WriteStlAscii(band)},
      {"ring.obj", testing::WriteObj(band)},
      {"ring.ply", testing::WritePly(band, "ascii")},
      {"ring.ply", testing::WritePly(band, "binary_little_endian")},
      {"ring.ply", testing::WritePly(band, "binary_big_endian")},
  };
  std::string first_hash;
  for (const auto& [name, bytes] : files) {
    auto read = ParseMesh(bytes, name);
    ASSERT_TRUE(read.ok()) << name << ": " << read.status();
    EXPECT_EQ(read->mesh.triangles.size(), band.triangles.size());
    // STL's unshared corners are welded back to the shared vertices.
    EXPECT_EQ(read->mesh.vertices.size(), band.vertices.size())
        << MeshFormatName(read->format);
    const std::string hash = CanonicalGeometryHash(read->mesh);
    if (first_hash.empty()) first_hash = hash;
    EXPECT_EQ(hash, first_hash) << MeshFormatName(read->format);
  }
  // The content decides, not the extension.
  EXPECT_EQ(ParseMesh(testing::WritePly(band, "ascii"), "x.stl")->format,
            MeshFormat::kPlyAscii);
  EXPECT_EQ(ParseMesh(testing::WriteObj(band), "upload.bin")->format,
            MeshFormat::kObj);
}

void ExpectRefused(const std::string& bytes, const std::string& name,
                   const std::string& text,
                   absl::StatusCode code = absl::StatusCode::kInvalidArgument) {
  auto read = ParseMesh(bytes, name, {1000, 1000});
  ASSERT_FALSE(read.ok()) << name << " accepted";
  EXPECT_EQ(read.status().code(), code) << read.status();
  EXPECT_NE(read.status().message().find(text), std::string::npos)
      << "expected \"" << text << "\" in " << read.status();
}

TEST(ReadMeshTest, HostileStlIsRefusedWithTheReason) {
  const std::string good = testing::WriteStlBinary(Small());
  ExpectRefused(good.substr(0, good.size() - 7), "a.stl", "truncated");
  std::string lying = good;
  const uint32_t huge = 4000000000u;
  std::memcpy(lying.data() + 80, &huge, 4);
  ExpectRefused(lying, "a.stl", "declares 4000000000 triangles");
  ExpectRefused(good + "xx", "a.stl", "bytes after the declared");
  std::string nan = good;
  const float bad = std::numeric_limits<float>::quiet_NaN();
  std::memcpy(nan.data() + 84 + 12, &bad, 4);
  ExpectRefused(nan, "a.stl", "not finite");
  ExpectRefused(std::string(40, 'x'), "a.stl", "shorter than the 84-byte");
  const std::string ascii = testing::WriteStlAscii(Small());
  ExpectRefused(ascii.substr(0, ascii.rfind("endloop", ascii.size() / 2)),
                "a.stl", "truncated");
  ExpectRefused("solid x\nfacet normal 0 0 0\nouter loop\nvertex 1 2\n",
                "a.stl", "vertex needs three numbers");
  ExpectRefused("solid x\nvertex 1 inf 3\n", "a.stl", "outside a facet");
  ExpectRefused(
      testing::WriteStlBinary(Band(testing::PlainBand(8, 10, 4, 256))),
      "big.stl", "limit is 1000", absl::StatusCode::kResourceExhausted);
}

TEST(ReadMeshTest, HostileObjAndPlyAreRefusedWithTheReason) {
  ExpectRefused("v 0 0 0\nv 1 0 0\nf 1 2 3\n", "a.obj", "out of range");
  ExpectRefused("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 -4\n", "a.obj",
                "out of range");
  ExpectRefused("v 0 nan 0\n", "a.obj", "not finite");
  ExpectRefused("v 0 0\n", "a.obj", "three numbers");
  ExpectRefused("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2\n", "a.obj",
                "at least three");
  ExpectRefused("# nothing\n", "a.obj", "no faces");
  const std::string ply = testing::WritePly(Small(), "binary_little_endian");
  ExpectRefused(ply.substr(0, ply.size() - 5), "a.ply", "truncated");
  ExpectRefused(ply.substr(0, ply.find("element face")), "a.ply", "end_header");
  std::string lying = ply;
  lying.replace(lying.find("element vertex 64"), 17,
                "element vertex 999999999999");
  ExpectRefused(lying, "a.ply", "declares 999999999999");
  ExpectRefused(
      "ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty "
      "float y\nproperty float z\nelement face 1\nproperty list uchar int "
      "vertex_indices\nend_header\n0 0 0\n1 0 0\n0 1 0\n3 0 1 7\n",
      "a.ply", "out of range");
  ExpectRefused(
      "ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\n"
      "property float y\nproperty float z\nend_header\n0 0 inf\n",
      "a.ply", "not finite");
  ExpectRefused("ply\nformat binary_middle_endian 1.0\nend_header\n", "a.ply",
                "unknown format");
  // Found by the fuzzer: a header ending without a newline.
  ExpectRefused("ply\nformat ascii 1.0\nelement vertex 0\nend_header", "a.ply",
                "needs a vertex and a face element");
  ExpectRefused("", "a.stl", "shorter");
  ExpectRefused("hello", "a.txt", "not STL, OBJ, PLY, STEP or 3MF");
  // STEP and 3MF are recognised, and named, in a program without their
  // readers (this test does not link geometry/cad).
  ExpectRefused("ISO-10303-21;\nHEADER;", "a.dat",
                "STEP: this program is built without the STEP reader");
  ExpectRefused(std::string("PK\x03\x04", 4), "a.bin",
                "3MF: this program is built without the 3MF reader");
}

// A binary PLY large enough that its vertices and faces are read on two
// threads: the same mesh as the general reader gives, and a bad item in
// either half refused by the number of the first one.
TEST(ReadMeshTest, LargeBinaryPlyNamesItsFirstBadItem) {
  testing::BandSpec fine;
  fine.segments = 4096;
  fine.height_segments = 12;
  const Mesh band = Band(fine);
  const size_t nv = band.vertices.size(), nt = band.triangles.size();
  ASSERT_GE(nv, 65536u);
  ASSERT_GE(nt, 65536u);
  const std::string ply = testing::WritePly(band, "binary_little_endian");
  auto fast = ParseMesh(ply, "big.ply");
  ASSERT_TRUE(fast.ok()) << fast.status();
  auto general =
      ParseMesh(testing::WritePly(band, "binary_big_endian"), "big.ply");
  ASSERT_TRUE(general.ok()) << general.status();
  EXPECT_EQ(fast->mesh.vertices, general->mesh.vertices);
  EXPECT_EQ(fast->mesh.triangles, band.triangles);
  const size_t body = ply.find("end_header\n") + 11;
  const ReadLimits limits;
  auto refused = [&](const std::string& bytes) {
    auto read = ParseMesh(bytes, "big.ply", limits);
    return read.ok() ? std::string("accepted")
                     : std::string(read.status().message());
  };
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (const std::vector<size_t>& bad :
       {std::vector<size_t>{3}, {nv - 2}, {nv / 2 + 1}, {nv - 9, 7}}) {
    std::string bytes = ply;
    for (size_t v : bad) std::memcpy(&bytes[body + 12 * v + 4], &nan, 4);
    const size_t first = *std::min_element(bad.begin(), bad.end());
    EXPECT_NE(refused(bytes).find("PLY vertex " + std::to_string(first) +
                                  ": a coordinate is not finite"),
              std::string::npos)
        << refused(bytes);
  }
  const auto out_of_range = static_cast<int32_t>(nv + 5);
  for (const std::vector<size_t>& bad :
       {std::vector<size_t>{0}, {nt - 1}, {nt / 2}, {nt - 3, nt / 3}}) {
    std::string bytes = ply;
    for (size_t t : bad) {
      std::memcpy(&bytes[body + 12 * nv + 13 * t + 5], &out_of_range, 4);
    }
    const size_t first = *std::min_element(bad.begin(), bad.end());
    EXPECT_NE(
        refused(bytes).find("PLY face " + std::to_string(first) +
                            ": vertex index " + std::to_string(out_of_range)),
        std::string::npos)
        << refused(bytes);
  }
  // Cut inside the faces: refused as truncated, not read short.
  EXPECT_NE(refused(ply.substr(0, body + 12 * nv + 13 * (nt - 100)))
                .find("truncated"),
            std::string::npos);
}

TEST(ReadMeshTest, ReadsFilesMappedAndFromPipes) {
  const Mesh band = Band(testing::PlainBand(8.675, 10.175, 4.0, 48));
  const std::string ply = testing::WritePly(band, "binary_little_endian");
  const auto dir = std::filesystem::temp_directory_path() /
                   ("loupe_read_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string file = (dir / "band.ply").string();
  std::ofstream(file, std::ios::binary) << ply;
  auto mapped = ReadMeshFile(file);
  ASSERT_TRUE(mapped.ok()) << mapped.status();
  auto parsed = ParseMesh(ply, "band.ply");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(mapped->mesh.vertices, parsed->mesh.vertices);
  EXPECT_EQ(mapped->mesh.triangles, band.triangles);
  // A pipe cannot be mapped: read through a stream, same mesh.
  const std::string fifo = (dir / "band.fifo").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::thread writer([&] { std::ofstream(fifo, std::ios::binary) << ply; });
  auto piped = ReadMeshFile(fifo);
  writer.join();
  ASSERT_TRUE(piped.ok()) << piped.status();
  EXPECT_EQ(piped->mesh.vertices, mapped->mesh.vertices);
  EXPECT_EQ(piped->mesh.triangles, mapped->mesh.triangles);
  // Empty and missing files: errors naming the file.
  const std::string empty = (dir / "empty.stl").string();
  std::ofstream(empty).flush();
  auto nothing = ReadMeshFile(empty);
  ASSERT_FALSE(nothing.ok());
  EXPECT_NE(nothing.status().message().find("empty.stl"), std::string::npos);
  auto missing = ReadMeshFile((dir / "missing.stl").string());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  std::filesystem::remove_all(dir);
}

TEST(ReadMeshTest, StlCornersAreWeldedExactlyWhateverTheirNumber) {
  // 3000 separate triangles (9000 corners, far above the size hint of
  // half the triangle count) sharing nothing, and a band sharing
  // everything: each corner keeps its coordinates, shared ones one index.
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-10, 10);
  Mesh loose;
  for (uint32_t t = 0; t < 3000; ++t) {
    for (int k = 0; k < 3; ++k)
      loose.vertices.push_back({u(rng), u(rng), u(rng)});
    loose.triangles.push_back({3 * t, 3 * t + 1, 3 * t + 2});
  }
  auto read = ParseMesh(testing::WriteStlBinary(loose), "loose.stl");
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->mesh.vertices.size(), 9000u);
  for (size_t t = 0; t < loose.triangles.size(); ++t) {
    for (int k = 0; k < 3; ++k) {
      ASSERT_EQ(read->mesh.Corner(t, k), loose.Corner(t, k)) << t;
    }
  }
  const Mesh band = Band(testing::PlainBand(8.675, 10.175, 4.0, 300));
  auto welded = ParseMesh(testing::WriteStlBinary(band), "band.stl");
  ASSERT_TRUE(welded.ok());
  EXPECT_EQ(welded->mesh.vertices.size(), band.vertices.size());
  EXPECT_EQ(welded->mesh.triangles.size(), band.triangles.size());
}

}  // namespace
}  // namespace loupe::geometry
