// The signature index over the in-memory engine: versions another front
// end records (here: a second writer on the same store, through the
// ledger, after this index was built) are found by CatchUp from the log,
// once each, and only versions with a current signature are indexed.
#include "server/registry/signature_index.h"

#include <gtest/gtest.h>

#include "geometry/signature.h"
#include "server/storage/memory/memory_fixture_for_tests.h"

namespace loupe::server {
namespace {

class SignatureIndexTest : public storage::MemoryStoreFixture {
 protected:
  // A version of `piece` whose one mesh has a signature of `version`.
  static v1::TwinVersion Signed(const std::string& piece, double diameter,
                                int version = geometry::kSignatureVersion) {
    v1::TwinVersion v;
    v.set_piece_id(piece);
    v.set_reason(v1::VERSION_REASON_ORIGINAL);
    v1::GeometrySummary* g = v.add_geometry();
    g->set_asset_sha256(std::string(64, 'a'));
    v1::ShapeSignature* s = g->mutable_signature();
    s->set_version(version);
    s->set_inner_diameter_mm(diameter);
    s->set_band_width_mm(3);
    std::array<float, geometry::kDescriptorSize> d{};
    d[0] = 1;
    s->set_profile_density(geometry::PackDescriptor(d));
    return v;
  }
  void Record(const std::string& piece, v1::TwinVersion first) {
    v1::Piece p;
    p.set_id(piece);
    p.set_studio_id("aurum");
    p.set_studio_reference(piece);
    ASSERT_TRUE(ledger_->CreatePieceAndWait(p, std::move(first)).ok());
  }
};

TEST_F(SignatureIndexTest, VersionsRecordedElsewhereAreCaughtUpFromTheLog) {
  Record("pc_before", Signed("pc_before", 17.3));
  SignatureIndex index;
  ASSERT_TRUE(index.Rebuild(*store_).ok());
  EXPECT_EQ(index.size(), 1u);
  // Another front end records two rings and one with an older signature.
  Record("pc_elsewhere1", Signed("pc_elsewhere1", 17.3));
  Record("pc_elsewhere2", Signed("pc_elsewhere2", 18.1));
  Record("pc_old", Signed("pc_old", 17.3, geometry::kSignatureVersion + 100));
  EXPECT_EQ(index.size(), 1u);
  ASSERT_TRUE(index.CatchUp(*store_).ok());
  EXPECT_EQ(index.size(), 3u);
  geometry::ShapeSignature scan;
  scan.inner_diameter_mm = 17.3;
  scan.band_width_mm = 3;
  scan.descriptor[0] = 1;
  std::set<std::string> found;
  for (const IndexHit& hit : index.Nearest(scan, 10)) {
    found.insert(hit.twin.piece_id);
  }
  EXPECT_EQ(found, (std::set<std::string>{"pc_before", "pc_elsewhere1"}));
  // Nothing new: nothing added twice.
  ASSERT_TRUE(index.CatchUp(*store_).ok());
  EXPECT_EQ(index.size(), 3u);
}

}  // namespace
}  // namespace loupe::server
