// NewS3StreamingWriter (s3_assets.h): an upload whose digest was declared
// up front goes straight into a multipart upload at assets/<sha256>, part
// by part as it arrives, on a thread of its own (one part queued, one in
// flight: memory about three parts); Commit completes it only once the
// bytes' digest matches, else aborts it.

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "base/str_cat.h"
#include "server/storage/s3/s3_assets.h"

namespace loupe::storage::s3 {
namespace {

class S3StreamingWriter final : public AssetWriter {
 public:
  S3StreamingWriter(S3Client* client, S3AssetOptions options, RecordFn record,
                    const crypto::Sha256Digest& declared, uint64_t size)
      : client_(client),
        options_(std::move(options)),
        record_(std::move(record)),
        declared_(declared),
        declared_size_(size),
        key_(ObjectKey(declared)) {
    thread_ = std::thread([this] { Run(); });
  }

  ~S3StreamingWriter() override {
    Close();
    if (!completed_ && !upload_id_.empty()) {
      (void)client_->AbortMultipartUpload(key_, upload_id_);  // Best effort.
    }
  }

  absl::Status Append(std::string_view bytes) override {
    if (auto s = Failed(); !s.ok()) return s;
    received_ += bytes.size();
    whole_.Update(bytes);
    while (!bytes.empty()) {
      const size_t take =
          std::min(bytes.size(), options_.part_size - buffer_.size());
      buffer_.append(bytes.substr(0, take));
      bytes.remove_prefix(take);
      if (buffer_.size() == options_.part_size) Hand();
    }
    return absl::OkStatus();
  }

  uint64_t bytes_received() const override { return received_; }

  absl::StatusOr<AssetCommit> Commit(uint64_t size,
                                     const crypto::Sha256Digest& sha256,
                                     std::string_view studio_id) override {
    if (!buffer_.empty()) Hand();
    Close();
    if (received_ != size || size != declared_size_) {
      return absl::InvalidArgumentError(StrCat("size_bytes: declared ", size,
                                               " bytes but ", received_,
                                               " arrived; nothing stored"));
    }
    const auto actual = whole_.Finish();
    if (actual != sha256 || sha256 != declared_) {
      return absl::InvalidArgumentError(StrCat(
          "sha256: declared ", crypto::ToHex(sha256), " but the bytes hash to ",
          crypto::ToHex(actual), "; nothing stored"));
    }
    if (auto s = Failed(); !s.ok()) return s;
    if (!already_stored_) {
      if (auto s = Finish(); !s.ok()) return s;
    }
    auto known = record_(sha256, size, studio_id);
    if (!known.ok()) return known.status();
    return AssetCommit{sha256, size, *known};
  }

 private:
  absl::Status Failed() {
    std::lock_guard<std::mutex> lock(mu_);
    return status_;
  }

  // Queues the buffer as the next part (waits while one is queued).
  void Hand() {
    std::unique_lock<std::mutex> lock(mu_);
    space_.wait(lock, [this] { return queue_.empty(); });
    queue_.push_back(std::move(buffer_));
    buffer_.clear();
    ready_.notify_all();
  }

  void Close() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      closing_ = true;
      ready_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
  }

  void Run() {
    for (;;) {
      std::string part;
      {
        std::unique_lock<std::mutex> lock(mu_);
        ready_.wait(lock, [this] { return closing_ || !queue_.empty(); });
        if (queue_.empty()) return;
        part = std::move(queue_.front());
        queue_.pop_front();
        space_.notify_all();
        if (!status_.ok()) continue;  // Drain after a failure.
      }
      absl::Status s = Send(part);
      if (!s.ok()) {
        std::lock_guard<std::mutex> lock(mu_);
        status_ = s;
      }
    }
  }

  // On the thread: the first part decides whether the bucket already has
  // the object (then bytes are only hashed) or a multipart upload starts.
  absl::Status Send(std::string_view part) {
    if (etags_.empty() && upload_id_.empty() && !already_stored_) {
      auto head = client_->Head(key_);
      if (head.ok() && head->size == declared_size_ &&
          client_->Head(SumsKey(declared_)).ok()) {
        already_stored_ = true;
      } else if (!head.ok() && !absl::IsNotFound(head.status())) {
        return head.status();
      } else {
        auto id = client_->CreateMultipartUpload(key_);
        if (!id.ok()) return id.status();
        upload_id_ = *id;
      }
    }
    if (already_stored_) return absl::OkStatus();
    for (size_t at = 0; at < part.size(); at += kSumChunk) {
      const auto d = crypto::Sha256::Of(part.substr(at, kSumChunk));
      sums_.append(reinterpret_cast<const char*>(d.data()), d.size());
    }
    auto etag = client_->UploadPart(key_, upload_id_,
                                    static_cast<int>(etags_.size()) + 1, part);
    if (!etag.ok()) return etag.status();
    etags_.push_back(*std::move(etag));
    return absl::OkStatus();
  }

  // After the digest matched: sums, then the object completes.
  absl::Status Finish() {
    if (auto s = client_->Put(SumsKey(declared_), sums_); !s.ok()) return s;
    if (auto s = client_->CompleteMultipartUpload(key_, upload_id_, etags_);
        !s.ok()) {
      return s;
    }
    completed_ = true;
    auto head = client_->Head(key_);
    if (!head.ok()) return head.status();
    if (head->size != received_) {
      return absl::DataLossError(
          StrCat("asset ", crypto::ToHex(declared_), ": the bucket holds ",
                 head->size, " bytes after upload, not ", received_));
    }
    return absl::OkStatus();
  }

  S3Client* client_;
  S3AssetOptions options_;
  RecordFn record_;
  const crypto::Sha256Digest declared_;
  const uint64_t declared_size_;
  const std::string key_;
  // The receiving thread's.
  std::string buffer_;
  uint64_t received_ = 0;
  crypto::Sha256 whole_;
  // The sending thread's until Close() joins it.
  std::string upload_id_;
  std::vector<std::string> etags_;
  std::string sums_;
  bool already_stored_ = false;
  bool completed_ = false;

  std::mutex mu_;
  std::condition_variable ready_, space_;
  std::deque<std::string> queue_;
  bool closing_ = false;
  absl::Status status_;
  std::thread thread_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<AssetWriter>> NewS3StreamingWriter(
    S3Client* client, const S3AssetOptions& options, RecordFn record,
    const crypto::Sha256Digest& declared, uint64_t size) {
  return std::make_unique<S3StreamingWriter>(client, options, std::move(record),
                                             declared, size);
}

}  // namespace loupe::storage::s3
