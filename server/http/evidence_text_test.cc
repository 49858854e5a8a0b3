// The verify page's evidence in plain words (evidence_text.h).
#include "server/http/evidence_text.h"

#include <gtest/gtest.h>

namespace loupe::server::http {
namespace {

v1::CheckEvidence Repair() {
  v1::CheckEvidence e;
  e.set_check_id("ck_0123456789abcdef0123456789abcdef");
  e.set_purpose("repair");
  e.set_tolerance_um(50);
  e.set_pass(true);
  e.set_checked_version(1);
  e.set_max_abs_nm(40000);
  e.set_coverage_ppm(998000);
  e.set_checked_at("2027-03-02T10:15:00Z");
  e.set_checked_by("bench");
  return e;
}

TEST(EvidenceTextTest, ARepairIsSaidInTheBuyersWords) {
  v1::TwinVersion v;
  *v.add_evidence() = Repair();
  const auto text = DescribeEvidence(Catalogue::For("en"), v);
  ASSERT_EQ(text.size(), 1u);
  EXPECT_EQ(text[0].sentence,
            "Repaired on 2027-03-02 by bench: checked against the original "
            "within 0.05 mm (99.8 % of the surface; largest difference "
            "0.04 mm)");
  EXPECT_TRUE(text[0].override_note.empty());
  EXPECT_EQ(Catalogue::For("en").T("evidence.heading"), "Evidence");
}

TEST(EvidenceTextTest, TheSameRepairInFrenchWithItsDecimalComma) {
  v1::TwinVersion v;
  *v.add_evidence() = Repair();
  const auto text = DescribeEvidence(Catalogue::For("fr"), v);
  ASSERT_EQ(text.size(), 1u);
  EXPECT_EQ(text[0].sentence,
            "Réparée le 2027-03-02 par bench : comparée à l'original à "
            "0,05 mm près (99,8 % de la surface ; écart maximal 0,04 mm)");
  EXPECT_EQ(Catalogue::For("fr").T("evidence.heading"), "Preuves");
}

TEST(EvidenceTextTest, AFailedCheckSaysSoWithTheStudiosReason) {
  v1::TwinVersion v;
  auto e = Repair();
  e.set_purpose("resize");
  e.set_pass(false);
  e.set_checked_version(3);
  e.set_max_abs_nm(125000);
  e.set_override_reason("band widened on request");
  e.set_heat_map_sha256(std::string(64, 'c'));
  *v.add_evidence() = e;
  const auto text = DescribeEvidence(Catalogue::For("en"), v);
  ASSERT_EQ(text.size(), 1u);
  EXPECT_EQ(text[0].sentence,
            "Resized on 2027-03-02 by bench: checked against version 3 within "
            "0.05 mm (99.8 % of the surface; largest difference 0.125 mm); "
            "the check did not pass");
  EXPECT_EQ(text[0].override_note,
            "The studio accepted it because: band widened on request");
  EXPECT_EQ(text[0].heat_map_sha256, std::string(64, 'c'));
  const auto fr = DescribeEvidence(Catalogue::For("fr"), v);
  ASSERT_EQ(fr.size(), 1u);
  EXPECT_EQ(fr[0].sentence,
            "Mise à taille le 2027-03-02 par bench : comparée à la version 3 "
            "à 0,05 mm près (99,8 % de la surface ; écart maximal 0,125 mm) ; "
            "le contrôle n'a pas été concluant");
  EXPECT_EQ(fr[0].override_note,
            "L'atelier l'a acceptée pour la raison suivante : band widened on "
            "request");
}

}  // namespace
}  // namespace loupe::server::http
