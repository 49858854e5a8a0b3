#include "crypto/statement.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "crypto/canonical_json.h"
#include "crypto/sha256.h"

namespace loupe::crypto {
namespace {

Statement Example() {
  return Statement{{{"ring.stl", Sha256::HexOf("cad")},
                    {"scan.ply", Sha256::HexOf("scan")},
                    {"hallmark.jpg", Sha256::HexOf("photo")}},
                   "https://loupe.dev/TwinCertificate/v1",
                   {{"piece_id", "pc_x"}, {"version", 2}, {"carat", 1.02}}};
}

TEST(StatementTest, CanonicalWhateverTheSubjectOrder) {
  Statement a = Example();
  Statement b = Example();
  std::reverse(b.subjects.begin(), b.subjects.end());
  auto ea = EncodeStatement(a);
  auto eb = EncodeStatement(b);
  ASSERT_TRUE(ea.ok()) << ea.status();
  EXPECT_EQ(*ea, *eb);
  EXPECT_EQ(ea->rfind("{\"_type\":\"https://in-toto.io/Statement/v1\"", 0), 0u);
  auto parsed = ParseStatement(*ea);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->subjects.size(), 3u);
  EXPECT_EQ(parsed->subjects[0].name, "hallmark.jpg");
  EXPECT_EQ(parsed->predicate["carat"], 1.02);
  EXPECT_EQ(*EncodeStatement(*parsed), *ea);
}

TEST(StatementTest, SetDigestCatchesADroppedOrChangedSubject) {
  const std::string payload = *EncodeStatement(Example());
  auto json = nlohmann::json::parse(payload);
  auto dropped = json;
  dropped["subject"].erase(dropped["subject"].begin());
  auto s = ParseStatement(dropped.dump()).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("subject-set"), std::string::npos) << s;
  auto changed = json;
  changed["subject"][1]["digest"]["sha256"] = Sha256::HexOf("other");
  EXPECT_FALSE(ParseStatement(changed.dump()).ok());
  EXPECT_NE(SubjectSetDigest(Example().subjects),
            SubjectSetDigest({Example().subjects[0]}));
}

// The set digest is the SHA-256 of the canonical JSON of the sorted list,
// exactly as documented (the implementation writes those bytes directly).
TEST(StatementTest, SetDigestIsTheDocumentedCanonicalEncoding) {
  std::vector<Subject> subjects = {{"z \"quoted\".stl", Sha256::HexOf("1")},
                                   {"é.obj", Sha256::HexOf("2")},
                                   {"a.ply", Sha256::HexOf("3")}};
  nlohmann::json list = nlohmann::json::array();
  for (const auto& name : {"a.ply", "z \"quoted\".stl", "é.obj"}) {
    for (const auto& s : subjects) {
      if (s.name == name) {
        list.push_back({{"name", s.name}, {"digest", {{"sha256", s.sha256}}}});
      }
    }
  }
  EXPECT_EQ(SubjectSetDigest(subjects), Sha256::HexOf(*CanonicalJson(list)));
}

TEST(StatementTest, BadSubjectsAndPayloadsAreNamed) {
  Statement bad = Example();
  bad.subjects[1].sha256 = "ABC";
  EXPECT_NE(EncodeStatement(bad).status().message().find("digest.sha256"),
            std::string::npos);
  bad = Example();
  bad.subjects.push_back(bad.subjects[0]);
  EXPECT_NE(EncodeStatement(bad).status().message().find("twice"),
            std::string::npos);
  bad = Example();
  bad.subjects[0].name = kSubjectSetName;
  EXPECT_FALSE(EncodeStatement(bad).ok());
  const std::string payload = *EncodeStatement(Example());
  for (size_t n = 0; n < payload.size(); n += 13) {
    EXPECT_FALSE(ParseStatement(payload.substr(0, n)).ok());
  }
  EXPECT_NE(ParseStatement(R"({"_type":"x"})")
                .status()
                .message()
                .find("statement._type"),
            std::string::npos);
}

}  // namespace
}  // namespace loupe::crypto
