// S3Client against a real Swift s3api server (test_swift_for_tests.h).

#include "server/storage/s3/s3_client.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "base/str_cat.h"
#include "crypto/random.h"
#include "crypto/sha256.h"
#include "server/storage/s3/test_swift_for_tests.h"

namespace loupe::storage::s3 {
namespace {

using testing::SharedSwift;

std::unique_ptr<S3Client> NewBucket(const char* prefix) {
  auto client = SharedSwift().NewBucket(prefix);
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? *std::move(client) : nullptr;
}

TEST(S3ClientTest, PutGetHeadListDelete) {
  auto c = NewBucket("basic");
  ASSERT_NE(c, nullptr);
  const std::string body = crypto::RandomBytes(1000);
  ASSERT_TRUE(c->Put("a/one", body).ok());
  ASSERT_TRUE(c->Put("a/two", "2").ok());
  ASSERT_TRUE(c->Put("b/three", "3").ok());
  auto got = c->Get("a/one");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, body);
  auto range = c->Get("a/one", ByteRange{10, 19});
  ASSERT_TRUE(range.ok()) << range.status();
  EXPECT_EQ(*range, body.substr(10, 10));
  auto head = c->Head("a/one");
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_EQ(head->size, 1000u);
  EXPECT_GT(head->last_modified_unix, 0);
  auto page = c->List("a/");
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->objects.size(), 2u);
  EXPECT_EQ(page->objects[0].key, "a/one");
  EXPECT_EQ(page->objects[0].size, 1000u);
  EXPECT_EQ(page->objects[1].key, "a/two");
  ASSERT_TRUE(c->Delete("a/one").ok());
  EXPECT_TRUE(c->Delete("a/one").ok());  // Already absent.
  EXPECT_TRUE(absl::IsNotFound(c->Head("a/one").status()));
}

// A body handed out in pieces of at most 1000 bytes, counting what was
// asked of it.
S3Client::BodySource Pieces(const std::string& body, size_t* taken) {
  return [&body, taken](char* out, size_t capacity) -> absl::StatusOr<size_t> {
    const size_t n = std::min({capacity, body.size() - *taken, size_t{1000}});
    std::memcpy(out, body.data() + *taken, n);
    *taken += n;
    return n;
  };
}

TEST(S3ClientTest, PutStreamStoresBytesThatMatchTheirDigestOnly) {
  auto c = NewBucket("stream");
  ASSERT_NE(c, nullptr);
  const std::string body = crypto::RandomBytes((3 << 20) + 5);
  size_t taken = 0;
  ASSERT_TRUE(c->PutStream("ok", body.size(), crypto::Sha256::HexOf(body),
                           Pieces(body, &taken))
                  .ok());
  auto got = c->Get("ok");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, body);

  // Declared as other bytes: the server stores nothing.
  taken = 0;
  const absl::Status lied =
      c->PutStream("lied", body.size(), crypto::Sha256::HexOf("other"),
                   Pieces(body, &taken));
  EXPECT_TRUE(IsDigestRefusal(lied)) << lied;
  EXPECT_TRUE(absl::IsNotFound(c->Head("lied").status()));

  // A source with more than the declared size is never asked for it.
  const std::string longer = body + "trailing bytes";
  taken = 0;
  ASSERT_TRUE(c->PutStream("capped", body.size(), crypto::Sha256::HexOf(body),
                           Pieces(longer, &taken))
                  .ok());
  EXPECT_EQ(taken, body.size());

  // A source that fails: its error, and no object.
  const S3Client::BodySource broken = [](char*,
                                         size_t) -> absl::StatusOr<size_t> {
    return absl::DataLossError("the spool went away");
  };
  const absl::Status failed =
      c->PutStream("broken", 10, crypto::Sha256::HexOf("0123456789"), broken);
  EXPECT_TRUE(absl::IsDataLoss(failed)) << failed;
  EXPECT_TRUE(absl::IsNotFound(c->Head("broken").status()));
}

TEST(S3ClientTest, GetStreamHandsOverTheBytesFromAnOffsetUntilStopped) {
  auto c = NewBucket("getstream");
  ASSERT_NE(c, nullptr);
  const std::string body = crypto::RandomBytes((2 << 20) + 77);
  ASSERT_TRUE(c->Put("obj", body).ok());
  std::string got;
  const S3Client::BodySink keep = [&got](std::string_view bytes) {
    got.append(bytes);
    return true;
  };
  ASSERT_TRUE(c->GetStream("obj", 0, keep).ok());
  EXPECT_EQ(got, body);
  got.clear();
  ASSERT_TRUE(c->GetStream("obj", 1000, keep).ok());
  EXPECT_EQ(got, body.substr(1000));

  size_t seen = 0;
  const S3Client::BodySink first_piece = [&seen](std::string_view bytes) {
    seen += bytes.size();
    return false;
  };
  const absl::Status stopped = c->GetStream("obj", 0, first_piece);
  EXPECT_TRUE(absl::IsCancelled(stopped)) << stopped;
  EXPECT_GT(seen, 0u);
  EXPECT_LT(seen, body.size());

  // A missing object: NOT_FOUND naming it, nothing handed over.
  got.clear();
  const absl::Status missing = c->GetStream("nothing", 0, keep);
  EXPECT_TRUE(absl::IsNotFound(missing)) << missing;
  EXPECT_NE(missing.message().find("nothing"), std::string_view::npos);
  EXPECT_TRUE(got.empty());
}

TEST(S3ClientTest, MissingObjectIsNotFoundNamingIt) {
  auto c = NewBucket("missing");
  ASSERT_NE(c, nullptr);
  auto got = c->Get("no/such/key");
  ASSERT_TRUE(absl::IsNotFound(got.status())) << got.status();
  EXPECT_NE(got.status().message().find("no/such/key"), std::string::npos)
      << got.status();
}

TEST(S3ClientTest, WrongSecretIsPermissionDeniedNamingTheObject) {
  auto options = SharedSwift().Options("denied");
  options.secret_access_key = "wrong";
  auto c = S3Client::Create(options);
  ASSERT_TRUE(c.ok());
  auto s = (*c)->Put("some/key", "x");
  EXPECT_TRUE(absl::IsPermissionDenied(s)) << s;
  EXPECT_NE(s.message().find("some/key"), std::string::npos) << s;
}

TEST(S3ClientTest, MissingFieldsAreRefusedByName) {
  S3Options options;
  options.endpoint = "http://127.0.0.1:1";
  auto c = S3Client::Create(options);
  EXPECT_TRUE(absl::IsInvalidArgument(c.status()));
  EXPECT_NE(c.status().message().find("bucket"), std::string::npos);
}

TEST(S3ClientTest, MultipartUploadIsWholeAfterCompleteAndGoneAfterAbort) {
  auto c = NewBucket("multi");
  ASSERT_NE(c, nullptr);
  const std::string part1 = crypto::RandomBytes(5 << 20);
  const std::string part2 = crypto::RandomBytes(1234);
  auto id = c->CreateMultipartUpload("big");
  ASSERT_TRUE(id.ok()) << id.status();
  auto e1 = c->UploadPart("big", *id, 1, part1);
  auto e2 = c->UploadPart("big", *id, 2, part2);
  ASSERT_TRUE(e1.ok() && e2.ok()) << e1.status() << e2.status();
  EXPECT_TRUE(absl::IsNotFound(c->Head("big").status()));  // Not yet.
  auto uploads = c->ListMultipartUploads("");
  ASSERT_TRUE(uploads.ok()) << uploads.status();
  ASSERT_EQ(uploads->size(), 1u);
  EXPECT_EQ((*uploads)[0].upload_id, *id);
  ASSERT_TRUE(c->CompleteMultipartUpload("big", *id, {*e1, *e2}).ok());
  auto got = c->Get("big");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(*got == part1 + part2);

  auto id2 = c->CreateMultipartUpload("dropped");
  ASSERT_TRUE(id2.ok());
  ASSERT_TRUE(c->UploadPart("dropped", *id2, 1, part2).ok());
  ASSERT_TRUE(c->AbortMultipartUpload("dropped", *id2).ok());
  uploads = c->ListMultipartUploads("");
  ASSERT_TRUE(uploads.ok());
  EXPECT_TRUE(uploads->empty());
  EXPECT_TRUE(absl::IsNotFound(c->Head("dropped").status()));
}

TEST(S3ClientTest, UploadFileStreamsInParts) {
  auto c = NewBucket("file");
  ASSERT_NE(c, nullptr);
  const std::string path = (std::filesystem::temp_directory_path() /
                            StrCat("loupe-s3-upload-", getpid(), ".bin"))
                               .string();
  const std::string bytes = crypto::RandomBytes((11 << 20) + 17);
  std::ofstream(path, std::ios::binary) << bytes;
  ASSERT_TRUE(c->UploadFile("f", path, 5 << 20).ok());
  std::remove(path.c_str());
  auto got = c->Get("f");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(*got == bytes);
}

// Last: it stops the shared server and starts it again.
TEST(S3ClientTest, ServerDownIsUnavailableAfterRetriesThenRecovers) {
  auto c = NewBucket("down");
  ASSERT_NE(c, nullptr);
  SharedSwift().Kill();
  auto s = c->Put("k", "v");
  EXPECT_TRUE(absl::IsUnavailable(s)) << s;
  EXPECT_NE(s.message().find("k"), std::string::npos);
  EXPECT_NE(s.message().find("3 attempts"), std::string::npos) << s;
  ASSERT_TRUE(SharedSwift().Resume().ok());
  EXPECT_TRUE(c->Put("k", "v").ok());
}

}  // namespace
}  // namespace loupe::storage::s3
