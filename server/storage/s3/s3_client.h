#pragma once

// A small S3 client on libcurl: path-style URLs (ENDPOINT/BUCKET/KEY),
// requests signed by libcurl itself (CURLOPT_AWS_SIGV4; no signing code
// here), each body's SHA-256 sent as x-amz-content-sha256 (so the server
// checks the bytes it received against it).
//
// Errors (absl::Status), every message naming the method and the object:
//   - NOT_FOUND: no such object (404);
//   - PERMISSION_DENIED: 401/403 (the key lacks a permission);
//   - FAILED_PRECONDITION: any other 4xx, with S3's error code and message;
//   - UNAVAILABLE: 5xx, timeouts and connection failures that persisted
//     through every retry (exponential backoff, S3Options::max_attempts).
//
// Thread-safe: calls from several threads share a pool of connections.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace loupe::storage::s3 {

struct S3Options {
  std::string endpoint;  // "http://127.0.0.1:8080" (no trailing slash).
  std::string bucket;
  std::string region = "us-east-1";
  std::string access_key_id;  // May contain ':' (Swift: "account:user").
  std::string secret_access_key;
  // Attempts per request for retryable failures (5xx, timeouts, refused
  // connections), waiting first_backoff, then twice as long each time.
  int max_attempts = 5;
  std::chrono::milliseconds first_backoff{200};
  std::chrono::milliseconds connect_timeout{3000};
  // A transfer slower than 1 KiB/s for this long is a timeout.
  std::chrono::seconds stall_timeout{30};
};

struct ObjectInfo {
  std::string key;
  uint64_t size = 0;
  int64_t last_modified_unix = 0;  // 0 if the server did not say.
};

struct ObjectPage {
  std::vector<ObjectInfo> objects;
  // Set if more follow: pass to List as `continuation`.
  std::optional<std::string> next_continuation;
};

struct MultipartUploadInfo {
  std::string key;
  std::string upload_id;
  int64_t initiated_unix = 0;
};

// Inclusive byte range [first, last].
struct ByteRange {
  uint64_t first = 0;
  uint64_t last = 0;
};

// True if `s` is a server's refusal of a body whose bytes do not hash to
// its x-amz-content-sha256 (AWS: XAmzContentSHA256Mismatch; Swift's s3api
// and others: BadDigest), as opposed to any other refusal.
[[nodiscard]] bool IsDigestRefusal(const absl::Status& s);

class S3Client {
 public:
  // INVALID_ARGUMENT naming the empty field (endpoint, bucket, keys).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<S3Client>> Create(
      S3Options options);
  ~S3Client();
  S3Client(const S3Client&) = delete;
  S3Client& operator=(const S3Client&) = delete;

  [[nodiscard]] const S3Options& options() const { return options_; }

  // Creates the bucket; OK if this account already owns it.
  [[nodiscard]] absl::Status CreateBucket();

  // One PUT of `body` (for objects up to a few MiB; UploadFile for more).
  // `headers`: more header lines stored with the object and returned to
  // readers, e.g. "Cache-Control: public, max-age=60", "Content-Type: ...".
  [[nodiscard]] absl::Status Put(std::string_view key, std::string_view body,
                                 std::vector<std::string> headers = {});
  // Fills up to `capacity` bytes of `buffer` with the next bytes of a
  // streamed body and returns how many (never 0 before the end), or an
  // error, which aborts the request.
  using BodySource =
      std::function<absl::StatusOr<size_t>(char* buffer, size_t capacity)>;
  // One PUT of `size` bytes taken from `source` while they are sent
  // (memory: curl's upload buffer), declared to hash to `sha256_hex` as its
  // x-amz-content-sha256: the server checks the bytes against it and stores
  // nothing if they differ (AWS S3 and Swift's s3api both do). The source
  // is never asked for more than `size` bytes in all. On a connection of
  // its own; not retried (a source cannot be replayed). The source's own
  // error is returned as is; once `*cancel` is set (another thread), the
  // transfer stops within about a second, UNAVAILABLE.
  [[nodiscard]] absl::Status PutStream(
      std::string_view key, uint64_t size, std::string_view sha256_hex,
      const BodySource& source, const std::atomic<bool>* cancel = nullptr);
  // Receives a streamed body's bytes as they arrive; false stops the
  // transfer.
  using BodySink = std::function<bool(std::string_view bytes)>;
  // A GET of the object from byte `first` to its end, handed to `sink`
  // piece by piece as it arrives (memory: curl's buffer). Not retried
  // (what was handed over cannot be taken back: resume from where it
  // ended). CANCELLED if the sink stopped it or `*cancel` was set.
  [[nodiscard]] absl::Status GetStream(
      std::string_view key, uint64_t first, const BodySink& sink,
      const std::atomic<bool>* cancel = nullptr);
  // The object's bytes (or `range` of them). Memory: the whole answer.
  [[nodiscard]] absl::StatusOr<std::string> Get(
      std::string_view key, std::optional<ByteRange> range = std::nullopt);
  [[nodiscard]] absl::StatusOr<ObjectInfo> Head(std::string_view key);
  // OK if the object was already absent.
  [[nodiscard]] absl::Status Delete(std::string_view key);
  // Up to 1000 objects whose keys start with `prefix`, in key order.
  [[nodiscard]] absl::StatusOr<ObjectPage> List(
      std::string_view prefix, std::string_view continuation = "");

  // Multipart upload: parts numbered from 1, each but the last at least
  // 5 MiB. Complete makes the object visible whole; Abort discards parts.
  [[nodiscard]] absl::StatusOr<std::string> CreateMultipartUpload(
      std::string_view key);
  // The part's ETag, for Complete.
  [[nodiscard]] absl::StatusOr<std::string> UploadPart(
      std::string_view key, std::string_view upload_id, int part_number,
      std::string_view body);
  [[nodiscard]] absl::Status CompleteMultipartUpload(
      std::string_view key, std::string_view upload_id,
      const std::vector<std::string>& etags);
  // OK if the upload is already gone.
  [[nodiscard]] absl::Status AbortMultipartUpload(std::string_view key,
                                                  std::string_view upload_id);
  // Unfinished multipart uploads under `prefix` (first 1000).
  [[nodiscard]] absl::StatusOr<std::vector<MultipartUploadInfo>>
  ListMultipartUploads(std::string_view prefix);

  // Uploads the file at `path` to `key`: one PUT up to `part_size`, else a
  // multipart upload reading one part at a time (memory: one part), aborted
  // if any step fails. INTERNAL naming the path if the file cannot be read.
  [[nodiscard]] absl::Status UploadFile(std::string_view key,
                                        const std::string& path,
                                        size_t part_size = 16 << 20);

  struct Request;  // Internal (s3_client.cc).

 private:
  explicit S3Client(S3Options options);
  struct Response {
    long http = 0;
    std::string body;
    std::string etag;
    uint64_t content_length = 0;
    std::string last_modified;
  };
  // Runs `request` with retries; non-2xx answers become errors.
  [[nodiscard]] absl::StatusOr<Response> Run(const Request& request);
  [[nodiscard]] absl::StatusOr<Response> RunOnce(const Request& request,
                                                 bool* retryable);
  [[nodiscard]] std::string Url(std::string_view key,
                                std::string_view query) const;
  void* TakeHandle();
  void ReturnHandle(void* handle);

  S3Options options_;
  struct Pool;
  std::unique_ptr<Pool> pool_;
};

}  // namespace loupe::storage::s3
