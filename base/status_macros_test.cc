#include "base/status_macros.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace loupe {
namespace {

// Counts its calls, so a test sees that the macro's argument runs once.
struct Source {
  int calls = 0;
  absl::Status Check(absl::Status s) {
    ++calls;
    return s;
  }
  absl::StatusOr<std::unique_ptr<std::string>> Make(bool ok) {
    ++calls;
    if (!ok) return absl::NotFoundError("no such thing");
    return std::make_unique<std::string>("made");
  }
};

absl::Status TwoChecks(Source& source, absl::Status first, bool* reached_end) {
  RETURN_IF_ERROR(source.Check(std::move(first)));
  RETURN_IF_ERROR(source.Check(absl::OkStatus()));
  *reached_end = true;
  return absl::OkStatus();
}

TEST(StatusMacrosTest, ReturnIfErrorReturnsTheErrorAndStops) {
  Source source;
  bool reached_end = false;
  const absl::Status s =
      TwoChecks(source, absl::PermissionDeniedError("not yours"), &reached_end);
  EXPECT_EQ(s, absl::PermissionDeniedError("not yours"));
  EXPECT_EQ(source.calls, 1);
  EXPECT_FALSE(reached_end);
}

TEST(StatusMacrosTest, ReturnIfErrorContinuesOnOk) {
  Source source;
  bool reached_end = false;
  EXPECT_TRUE(TwoChecks(source, absl::OkStatus(), &reached_end).ok());
  EXPECT_EQ(source.calls, 2);
  EXPECT_TRUE(reached_end);
}

// Two ASSIGN_OR_RETURNs in one scope (a new variable, then an existing
// one), with a move-only value, in a function returning StatusOr.
absl::StatusOr<std::string> Joined(Source& source, bool first_ok,
                                   bool second_ok) {
  ASSIGN_OR_RETURN(std::unique_ptr<std::string> a, source.Make(first_ok));
  std::unique_ptr<std::string> b;
  ASSIGN_OR_RETURN(b, source.Make(second_ok));
  return *a + "+" + *b;
}

TEST(StatusMacrosTest, AssignOrReturnAssignsTheValue) {
  Source source;
  EXPECT_EQ(Joined(source, true, true).value_or(""), "made+made");
  EXPECT_EQ(source.calls, 2);
}

TEST(StatusMacrosTest, AssignOrReturnReturnsTheErrorAndStops) {
  Source source;
  EXPECT_EQ(Joined(source, false, true).status(),
            absl::NotFoundError("no such thing"));
  EXPECT_EQ(source.calls, 1);
  Source second;
  EXPECT_EQ(Joined(second, true, false).status(),
            absl::NotFoundError("no such thing"));
  EXPECT_EQ(second.calls, 2);
}

}  // namespace
}  // namespace loupe
