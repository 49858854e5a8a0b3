#include "server/signing/certificate_statement.h"

#include <gtest/gtest.h>

#include "crypto/certificate.h"
#include "crypto/sha256.h"

namespace loupe::server {
namespace {

v1::Piece Piece() {
  v1::Piece p;
  p.set_id("pc_abcdefghijklmnopqrstuvwxyz");
  p.set_studio_id("aurum");
  p.set_studio_reference("A-1001");
  p.set_kind(v1::PIECE_KIND_RING);
  return p;
}

v1::TwinVersion Version() {
  v1::TwinVersion v;
  v.set_piece_id("pc_abcdefghijklmnopqrstuvwxyz");
  v.set_number(2);
  v.set_parent_number(1);
  v.set_reason(v1::VERSION_REASON_RESIZE);
  auto* a = v.add_assets();
  a->set_file_name("ring.stl");
  a->set_sha256(crypto::Sha256::HexOf("cad"));
  auto* b = v.add_assets();
  b->set_file_name("hallmark.jpg");
  b->set_sha256(crypto::Sha256::HexOf("photo"));
  v.mutable_assay()->set_alloy("18k rose gold");
  v.mutable_assay()->set_fineness_per_mille(750);
  v.add_stones()->set_carat(1.02);
  return v;
}

TEST(CertificateStatementTest, SubjectsAndFactsOfTheVersion) {
  auto statement = CertificateStatement(Piece(), Version(), "ct_parent");
  ASSERT_TRUE(statement.ok()) << statement.status();
  ASSERT_EQ(statement->subjects.size(), 2u);
  EXPECT_EQ(statement->subjects[0].name, "ring.stl");
  const auto& p = statement->predicate;
  EXPECT_EQ(p["piece_id"], "pc_abcdefghijklmnopqrstuvwxyz");
  EXPECT_EQ(p["version"], 2);
  EXPECT_EQ(p["parent_certificate"], "ct_parent");
  EXPECT_EQ(p["kind"], "PIECE_KIND_RING");
  EXPECT_EQ(p["twin"]["assay"]["alloy"], "18k rose gold");
  EXPECT_EQ(p["twin"]["stones"][0]["carat"], 1.02);
  EXPECT_EQ(p["twin"]["reason"], "VERSION_REASON_RESIZE");
  // The same facts give the same bytes.
  auto again = CertificateStatement(Piece(), Version(), "ct_parent");
  EXPECT_EQ(*crypto::EncodeStatement(*statement),
            *crypto::EncodeStatement(*again));
  EXPECT_TRUE(CertificateStatement(Piece(), Version(), "")
                  ->predicate["parent_certificate"]
                  .is_null());
}

TEST(CertificateStatementTest, FactsWithoutCanonicalFormAreRefused) {
  auto v = Version();
  v.mutable_stones(0)->set_carat(1e-9);
  auto s = CertificateStatement(Piece(), v, "");
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.status().message().find("carat"), std::string::npos)
      << s.status();
}

}  // namespace
}  // namespace loupe::server
