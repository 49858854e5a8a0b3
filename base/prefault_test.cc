// The hints as the kernel records them (/proc/self/smaps): a buffer
// advised or prefaulted is eligible for huge pages, a prefaulted one is
// resident, and the contents are what the caller asked for. Runs where
// huge pages are offered on request (the "madvise" mode), the one mode in
// which the advice makes the difference.
#include "base/prefault.h"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

namespace loupe {
namespace {

constexpr size_t kMb = size_t{1} << 20;

std::string HugePageMode() {
  std::ifstream in("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string line;
  std::getline(in, line);
  const size_t open = line.find('['), close = line.find(']');
  return open == std::string::npos || close == std::string::npos
             ? ""
             : line.substr(open + 1, close - open - 1);
}

// A field (in kB, or a flag) of the mapping holding `address`, or -1.
long MappingField(const void* address, const std::string& field) {
  const auto at = reinterpret_cast<uintptr_t>(address);
  std::ifstream in("/proc/self/smaps");
  std::string line;
  bool inside = false;
  while (std::getline(in, line)) {
    uintptr_t begin = 0, end = 0;
    char dash = 0;
    std::istringstream head(line);
    if (head >> std::hex >> begin >> dash >> end && dash == '-') {
      inside = begin <= at && at < end;
    } else if (inside && line.rfind(field + ":", 0) == 0) {
      return std::stol(line.substr(field.size() + 1));
    }
  }
  return -1;
}

// The first byte of a whole 2 MB page inside [data, data + bytes).
const void* FirstHugePage(const void* data) {
  constexpr uintptr_t kHuge = uintptr_t{2} << 20;
  return reinterpret_cast<const void*>(
      (reinterpret_cast<uintptr_t>(data) + kHuge - 1) & ~(kHuge - 1));
}

class PrefaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (HugePageMode() != "madvise") {
      GTEST_SKIP() << "transparent huge pages are \"" << HugePageMode()
                   << "\", not offered on request";
    }
  }
};

TEST_F(PrefaultTest, AdvisedBuffersAreEligibleForHugePages) {
  const size_t bytes = 16 * kMb;
  void* fresh = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(fresh, MAP_FAILED);
  const void* inner = FirstHugePage(fresh);
  if (MappingField(inner, "THPeligible") != 0) {
    ::munmap(fresh, bytes);
    GTEST_SKIP() << "fresh mappings are eligible for huge pages unasked";
  }
  AdviseHugePages(fresh, bytes);
  EXPECT_EQ(MappingField(inner, "THPeligible"), 1);
  // A hint only: nothing is made resident.
  EXPECT_EQ(MappingField(inner, "Rss"), 0);
  ::munmap(fresh, bytes);
}

TEST_F(PrefaultTest, PrefaultedBuffersAreResidentOnHugePages) {
  const size_t bytes = 16 * kMb;
  void* fresh = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(fresh, MAP_FAILED);
  Prefault(fresh, bytes);
  const void* inner = FirstHugePage(fresh);
  EXPECT_EQ(MappingField(inner, "THPeligible"), 1);
  // Resident now (the mapping may have been split at the huge pages).
  EXPECT_GE(MappingField(inner, "Rss"), 2048);
  ::munmap(fresh, bytes);
}

TEST_F(PrefaultTest, ResizedVectorsAreAdvisedAndValueInitialised) {
  std::vector<uint64_t> large;
  ResizeOnHugePages(&large, 8 * kMb / sizeof(uint64_t));
  ASSERT_EQ(large.size(), 8 * kMb / sizeof(uint64_t));
  EXPECT_EQ(MappingField(FirstHugePage(large.data()), "THPeligible"), 1);
  for (uint64_t v : large) ASSERT_EQ(v, 0u);
  std::vector<int> small;
  ResizeOnHugePages(&small, 1000);
  EXPECT_EQ(small, std::vector<int>(1000, 0));
}

}  // namespace
}  // namespace loupe
