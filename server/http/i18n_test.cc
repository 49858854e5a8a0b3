// The verify page's catalogues: every language has exactly the English
// keys with the same placeholders, every enum value and alloy a buyer sees
// has a label, and the reader's language and ring-size system are chosen
// as documented (i18n.h, buyer_facts.h).
#include "server/http/i18n.h"

#include <gtest/gtest.h>

#include <set>

#include "geometry/jewelry_tables.h"
#include "loupe/v1/twin.pb.h"
#include "server/http/buyer_facts.h"

namespace loupe::server::http {
namespace {

std::set<std::string> Placeholders(const std::string& text) {
  // Every "{name}" with name of [a-z_]+ (no <regex>: GCC 12 warns
  // falsely inside it under -fsanitize=address).
  std::set<std::string> out;
  for (size_t open = text.find('{'); open != std::string::npos;
       open = text.find('{', open + 1)) {
    const size_t close = text.find('}', open + 1);
    if (close == std::string::npos) break;
    const std::string name = text.substr(open + 1, close - open - 1);
    if (!name.empty() &&
        name.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") ==
            std::string::npos) {
      out.insert(name);
    }
  }
  return out;
}

TEST(I18n, EveryLanguageHasACatalogue) {
  ASSERT_EQ(CatalogueSources().size(), Languages().size());
  for (size_t i = 0; i < Languages().size(); ++i) {
    EXPECT_EQ(CatalogueSources()[i].lang, Languages()[i]);
    EXPECT_EQ(Catalogue::For(Languages()[i]).lang(), Languages()[i]);
  }
  EXPECT_EQ(Catalogue::For("xx").lang(), "en");
}

TEST(I18n, EveryCatalogueHasEveryKeyAndNoStrayOnes) {
  const Catalogue& en = Catalogue::For("en");
  for (const auto& lang : Languages()) {
    const Catalogue& c = Catalogue::For(lang);
    for (const auto& [key, text] : en.strings()) {
      EXPECT_TRUE(c.Has(key)) << lang << ".json: missing " << key;
      if (c.Has(key)) {
        EXPECT_EQ(Placeholders(c.strings().find(key)->second),
                  Placeholders(text))
            << lang << ".json: " << key << ": other placeholders than en";
        EXPECT_FALSE(c.strings().find(key)->second.empty())
            << lang << ".json: " << key << " is empty";
      }
    }
    for (const auto& [key, text] : c.strings()) {
      EXPECT_TRUE(en.Has(key))
          << lang << ".json: stray key " << key << " (not in en.json)";
    }
  }
}

TEST(I18n, EveryEnumValueShownToBuyersHasALabel) {
  const Catalogue& en = Catalogue::For("en");
  for (const auto* e :
       {v1::PieceStatus_descriptor(), v1::PieceKind_descriptor(),
        v1::VersionReason_descriptor(), v1::ProductionStepKind_descriptor(),
        v1::RingSizeSystem_descriptor()}) {
    for (int i = 0; i < e->value_count(); ++i) {
      EXPECT_TRUE(en.Has("enum." + e->value(i)->name()))
          << "en.json: no label for enum." << e->value(i)->name();
    }
  }
  for (const auto& alloy : geometry::Alloys()) {
    EXPECT_TRUE(en.Has("alloy." + std::string(alloy.name)))
        << "en.json: no label for alloy." << alloy.name;
  }
  EXPECT_EQ(Catalogue::For("fr").Enum("VERSION_REASON_REPAIR"), "réparée");
}

TEST(I18n, PlaceholdersAndNumbers) {
  const Catalogue& fr = Catalogue::For("fr");
  EXPECT_EQ(fr.Number(2.345, 2), "2,35");
  EXPECT_EQ(Catalogue::For("en").Number(2.345, 2), "2.35");
  EXPECT_EQ(Catalogue::For("en").T("fact.weight_value",
                                   {{"grams", "3.10"}, {"alloy", "gold"}}),
            "3.10 g of gold");
  EXPECT_EQ(Catalogue::For("en").T("no.such.key"), "no.such.key");
}

TEST(I18n, LanguageFromTheSwitchThenAcceptLanguage) {
  EXPECT_EQ(NegotiateLocale("de-CH;q=0.8, fr;q=0.9, en;q=0.1", "").lang, "fr");
  EXPECT_EQ(NegotiateLocale("en-GB,en;q=0.9", "").tag, "en-gb");
  EXPECT_EQ(NegotiateLocale("pt-BR, ja;q=0.5", "").lang, "ja");
  EXPECT_EQ(NegotiateLocale("ja", "it").lang, "it");  // The switch wins.
  EXPECT_EQ(NegotiateLocale("", "").lang, "en");
  EXPECT_EQ(NegotiateLocale("<script>, ;q=, de;q=abc, es;q=0.2", "xx").lang,
            "es");
  EXPECT_EQ(NegotiateLocale("fr;q=0", "").lang, "en");  // q=0: not wanted.
}

TEST(I18n, RingSizeSystemOfTheReader) {
  EXPECT_EQ(ReaderRingSystem({"en", "en-gb"}), v1::RING_SIZE_SYSTEM_UK);
  EXPECT_EQ(ReaderRingSystem({"en", "en-us"}), v1::RING_SIZE_SYSTEM_US);
  EXPECT_EQ(ReaderRingSystem({"en", "en"}), v1::RING_SIZE_SYSTEM_US);
  EXPECT_EQ(ReaderRingSystem({"fr", "fr"}), v1::RING_SIZE_SYSTEM_ISO);
  EXPECT_EQ(ReaderRingSystem({"fr", "fr-ch"}), v1::RING_SIZE_SYSTEM_IT);
  EXPECT_EQ(ReaderRingSystem({"de", "de-de"}), v1::RING_SIZE_SYSTEM_ISO);
  EXPECT_EQ(ReaderRingSystem({"ja", "ja"}), v1::RING_SIZE_SYSTEM_JP);
}

TEST(I18n, RingSizeStatedMeasuredOrConverted) {
  const Catalogue& en = Catalogue::For("en");
  v1::TwinVersion measured;
  measured.add_geometry()->set_inner_diameter_mm(17.35);  // US 7.
  const std::string m = RingSizeHtml(en, v1::RING_SIZE_SYSTEM_US, measured);
  EXPECT_NE(m.find("7 (US/Canada), measured by Loupe on the 3D model: inner "
                   "diameter 17.35 mm"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("UK/Australia N"), std::string::npos) << m;

  v1::TwinVersion stated;
  stated.mutable_ring_size()->set_system(v1::RING_SIZE_SYSTEM_US);
  stated.mutable_ring_size()->set_value("7");
  stated.mutable_ring_size()->set_inner_diameter_mm(17.35);
  EXPECT_EQ(RingSizeHtml(en, v1::RING_SIZE_SYSTEM_US, stated),
            "7 (US/Canada), as stated by the studio");
  const std::string uk = RingSizeHtml(en, v1::RING_SIZE_SYSTEM_UK, stated);
  EXPECT_NE(uk.find("(UK/Australia), converted from the studio&#39;s 7 "
                    "(US/Canada)"),
            std::string::npos)
      << uk;
  EXPECT_EQ(RingSizeHtml(en, v1::RING_SIZE_SYSTEM_US, v1::TwinVersion()), "");
}

}  // namespace
}  // namespace loupe::server::http
