// WriteFileSynced: secrets get their mode when created (not by a later
// chmod), existing files and symlinks are never written through, and a
// replacement is a rename.
#include "base/file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <random>

namespace loupe {
namespace {

namespace fs = std::filesystem;

class FileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("loupe_file_" + std::to_string(std::random_device()()));
    fs::create_directories(dir_);
    old_umask_ = ::umask(0);  // Nothing narrows the modes asked for.
  }
  void TearDown() override {
    ::umask(old_umask_);
    fs::remove_all(dir_);
  }
  std::string Path(const char* name) { return (dir_ / name).string(); }
  static unsigned Mode(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
  }

  fs::path dir_;
  mode_t old_umask_ = 0;
};

TEST_F(FileTest, SecretsAreCreatedWithTheirMode) {
  ASSERT_TRUE(
      WriteFileSynced(Path("key"), "secret", 0600, IfExists::kFail).ok());
  EXPECT_EQ(Mode(Path("key")), 0600u);
  EXPECT_EQ(*ReadFileToString(Path("key")), "secret");
  ASSERT_TRUE(
      WriteFileSynced(Path("pub"), "public", 0644, IfExists::kReplace).ok());
  EXPECT_EQ(Mode(Path("pub")), 0644u);
}

TEST_F(FileTest, ExistingFilesAndSymlinksAreNotWrittenThrough) {
  ASSERT_TRUE(
      WriteFileSynced(Path("key"), "first", 0600, IfExists::kFail).ok());
  auto again = WriteFileSynced(Path("key"), "second", 0600, IfExists::kFail);
  EXPECT_EQ(again.code(), absl::StatusCode::kAlreadyExists) << again;
  EXPECT_EQ(*ReadFileToString(Path("key")), "first");
  // A symlink planted where a key will be written: refused, target intact.
  ASSERT_TRUE(
      WriteFileSynced(Path("target"), "keep", 0644, IfExists::kFail).ok());
  fs::create_symlink(Path("target"), Path("link"));
  EXPECT_FALSE(WriteFileSynced(Path("link"), "x", 0600, IfExists::kFail).ok());
  EXPECT_EQ(*ReadFileToString(Path("target")), "keep");
  EXPECT_EQ(Mode(Path("target")), 0644u);
}

TEST_F(FileTest, ReplacingRenamesANewFileOverTheOld) {
  ASSERT_TRUE(
      WriteFileSynced(Path("env"), "old", 0644, IfExists::kReplace).ok());
  ASSERT_TRUE(
      WriteFileSynced(Path("env"), "new", 0600, IfExists::kReplace).ok());
  EXPECT_EQ(*ReadFileToString(Path("env")), "new");
  EXPECT_EQ(Mode(Path("env")), 0600u);  // The old file's mode is not kept.
  EXPECT_FALSE(fs::exists(Path("env.tmp")));
  // A symlink at the path is replaced, not followed.
  ASSERT_TRUE(
      WriteFileSynced(Path("target"), "keep", 0644, IfExists::kFail).ok());
  fs::create_symlink(Path("target"), Path("link"));
  ASSERT_TRUE(
      WriteFileSynced(Path("link"), "mine", 0600, IfExists::kReplace).ok());
  EXPECT_EQ(*ReadFileToString(Path("target")), "keep");
  EXPECT_FALSE(fs::is_symlink(Path("link")));
  // A directory that cannot be written: an error naming the path.
  auto s = WriteFileSynced(Path("missing/dir/key"), "x", 0600, IfExists::kFail);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("missing/dir/key"), std::string::npos) << s;
}

}  // namespace
}  // namespace loupe
