// NewS3StreamingWriter (s3_assets.h): an upload whose digest was declared
// up front goes straight to assets/<sha256> as it arrives, on a thread of
// its own:
//   - up to single_put_max bytes, as one streamed PUT declaring the digest
//     (the server stores nothing unless the bytes hash to it), handed over
//     1 MiB at a time (at most kSingleDepth queued: memory a few MiB);
//   - larger, or when the bucket already holds an object under that key
//     (then only bytes this writer has checked may replace it), as a
//     multipart upload, part by part (one part queued, one in flight:
//     memory about three parts), completed at Commit only once the bytes'
//     digest matches, else aborted.

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include "base/str_cat.h"
#include "server/storage/s3/s3_assets.h"

namespace loupe::storage::s3 {
namespace {

// 1 MiB units queued ahead of a streamed PUT.
constexpr size_t kSingleDepth = 4;

class S3StreamingWriter final : public AssetWriter {
 public:
  S3StreamingWriter(S3Client* client, S3AssetOptions options, RecordFn record,
                    const crypto::Sha256Digest& declared, uint64_t size)
      : client_(client),
        options_(std::move(options)),
        record_(std::move(record)),
        declared_(declared),
        declared_size_(size),
        key_(ObjectKey(declared)),
        single_(size <= options_.single_put_max),
        unit_(single_ ? kSumChunk : options_.part_size),
        depth_(single_ ? kSingleDepth : 1) {
    thread_ = std::thread([this] { Run(); });
  }

  // Without a Commit (the client went away): the rest is dropped, a PUT
  // in flight is cancelled, a multipart upload aborted.
  ~S3StreamingWriter() override {
    Close(/*abandon=*/true);
    if (!completed_ && !upload_id_.empty()) {
      (void)client_->AbortMultipartUpload(key_, upload_id_);  // Best effort.
    }
  }

  absl::Status Append(std::string_view bytes) override {
    if (auto s = Failed(); !s.ok()) return s;
    if (bytes.size() > declared_size_ - received_) {
      return absl::InvalidArgumentError(
          StrCat("size_bytes: more bytes arrived than the declared ",
                 declared_size_, "; nothing stored"));
    }
    received_ += bytes.size();
    while (!bytes.empty()) {
      const size_t take = std::min(bytes.size(), unit_ - buffer_.size());
      buffer_.append(bytes.substr(0, take));
      bytes.remove_prefix(take);
      if (buffer_.size() == unit_) Hand();
    }
    return absl::OkStatus();
  }

  uint64_t bytes_received() const override { return received_; }

  absl::StatusOr<AssetCommit> Commit(uint64_t size,
                                     const crypto::Sha256Digest& sha256,
                                     std::string_view studio_id) override {
    if (!buffer_.empty()) Hand();
    Close(/*abandon=*/false);
    if (received_ != size || size != declared_size_) {
      return absl::InvalidArgumentError(StrCat("size_bytes: declared ", size,
                                               " bytes but ", received_,
                                               " arrived; nothing stored"));
    }
    if (sha256 != declared_) {
      return absl::InvalidArgumentError(
          StrCat("sha256: declared ", crypto::ToHex(declared_),
                 " in the header but ", crypto::ToHex(sha256), " at the end"));
    }
    // After a PUT the server has checked the digest (Stream); else the
    // thread hashed every byte.
    if (!put_attempted_) {
      if (const auto actual = whole_.Finish(); actual != sha256) {
        return absl::InvalidArgumentError(
            StrCat("sha256: declared ", crypto::ToHex(sha256),
                   " but the bytes hash to ", crypto::ToHex(actual),
                   "; nothing stored"));
      }
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

  void Fail(absl::Status s) {
    if (s.ok()) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (status_.ok()) status_ = std::move(s);
  }

  // Queues the buffer as the next unit (waits while depth_ are queued).
  void Hand() {
    std::unique_lock<std::mutex> lock(mu_);
    space_.wait(lock, [this] { return queue_.size() < depth_; });
    queue_.push_back(std::move(buffer_));
    buffer_.clear();
    ready_.notify_all();
  }

  // Ends the hand-over and joins the thread; `abandon` drops what is
  // queued and cancels a PUT in flight.
  void Close(bool abandon) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      closing_ = true;
      if (abandon) {
        abandoned_ = true;
        cancel_ = true;
      }
      ready_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
  }

  // On the thread: the next unit Append handed over, or nullopt once the
  // upload is closed and nothing is left (or it was abandoned).
  std::optional<std::string> NextUnit() {
    std::unique_lock<std::mutex> lock(mu_);
    ready_.wait(lock, [this] { return closing_ || !queue_.empty(); });
    if (queue_.empty() || abandoned_) return std::nullopt;
    std::string unit = std::move(queue_.front());
    queue_.pop_front();
    space_.notify_all();
    lock.unlock();
    if (!put_attempted_) whole_.Update(unit);
    return unit;
  }

  void Run() {
    Fail(single_ ? Stream() : SendParts());
    while (NextUnit()) {  // Drain after a failure, so that Hand returns.
    }
  }

  // Multipart: units are parts (or, after a fallback from one PUT, are
  // gathered into parts).
  absl::Status SendParts() {
    std::string part;
    while (auto unit = NextUnit()) {
      if (part.empty() && unit->size() == options_.part_size) {
        part = *std::move(unit);
      } else {
        part += *unit;
      }
      if (part.size() >= options_.part_size) {
        if (auto s = Send(part); !s.ok()) return s;
        part.clear();
      }
    }
    return part.empty() || abandoned() ? absl::OkStatus() : Send(part);
  }

  bool abandoned() {
    std::lock_guard<std::mutex> lock(mu_);
    return abandoned_;
  }

  // On the thread: the bucket has the object already (only hashed), or has
  // something else under its key (replaced only through a multipart upload
  // this writer completes after checking the bytes), or gets it as one PUT
  // fed from the queue while the bytes arrive.
  absl::Status Stream() {
    auto head = client_->Head(key_);
    if (!head.ok() && !absl::IsNotFound(head.status())) return head.status();
    if (head.ok()) {
      if (auto s = FindStored(*head); !s.ok() || already_stored_) return s;
      in_parts_ = true;
      return SendParts();
    }
    std::string unit;
    size_t at = 0;
    const S3Client::BodySource source =
        [&](char* out, size_t capacity) -> absl::StatusOr<size_t> {
      if (at == unit.size()) {
        auto next = NextUnit();
        if (!next || next->empty()) {
          return absl::InvalidArgumentError(
              StrCat("size_bytes: the upload ended before its declared ",
                     declared_size_, " bytes; nothing stored"));
        }
        unit = *std::move(next);
        at = 0;
        AppendSums(unit);
      }
      const size_t take = std::min(capacity, unit.size() - at);
      std::memcpy(out, unit.data() + at, take);
      at += take;
      return take;
    };
    // From here the bucket's server checks the digest (PrepareBucket made
    // sure it does), so the bytes need no hashing here.
    put_attempted_ = true;
    auto s = client_->PutStream(key_, declared_size_, crypto::ToHex(declared_),
                                source, &cancel_);
    if (s.ok()) {
      streamed_ = true;
    } else if (IsDigestRefusal(s)) {
      s = absl::InvalidArgumentError(StrCat(
          "sha256: the bytes do not hash to the declared ",
          crypto::ToHex(declared_), " (the bucket refused them: ", s.message(),
          "); nothing stored"));
    }
    return s;
  }

  // Whether `head`, the object under the key, is the asset already stored
  // (of its size, with its sums).
  absl::Status FindStored(const ObjectInfo& head) {
    if (head.size != declared_size_) return absl::OkStatus();
    auto sums = client_->Head(SumsKey(declared_));
    if (sums.ok()) {
      already_stored_ = true;
      return absl::OkStatus();
    }
    return absl::IsNotFound(sums.status()) ? absl::OkStatus() : sums.status();
  }

  // The SHA-256 of each kSumChunk (units and parts are multiples of it,
  // except the last).
  void AppendSums(std::string_view bytes) {
    for (size_t at = 0; at < bytes.size(); at += kSumChunk) {
      const auto d = crypto::Sha256::Of(bytes.substr(at, kSumChunk));
      sums_.append(reinterpret_cast<const char*>(d.data()), d.size());
    }
  }

  // On the thread: one part of the multipart upload (started by the first,
  // unless the bucket already holds the asset).
  absl::Status Send(std::string_view part) {
    if (etags_.empty() && upload_id_.empty() && !already_stored_ &&
        !in_parts_) {
      auto head = client_->Head(key_);
      if (head.ok()) {
        if (auto s = FindStored(*head); !s.ok()) return s;
      } else if (!absl::IsNotFound(head.status())) {
        return head.status();
      }
    }
    in_parts_ = true;
    if (already_stored_) return absl::OkStatus();
    if (upload_id_.empty()) {
      auto id = client_->CreateMultipartUpload(key_);
      if (!id.ok()) return id.status();
      upload_id_ = *id;
    }
    AppendSums(part);
    auto etag = client_->UploadPart(key_, upload_id_,
                                    static_cast<int>(etags_.size()) + 1, part);
    if (!etag.ok()) return etag.status();
    etags_.push_back(*std::move(etag));
    return absl::OkStatus();
  }

  // After the digest matched: sums, then the object completes (a streamed
  // PUT's object is complete already, its digest checked by the server).
  absl::Status Finish() {
    if (!in_parts_ && !streamed_) {
      return absl::InternalError(StrCat("asset ", crypto::ToHex(declared_),
                                        ": the streamed PUT did not end"));
    }
    if (auto s = client_->Put(SumsKey(declared_), sums_); !s.ok()) return s;
    // A PUT's object is whole: the server took exactly its Content-Length
    // of bytes hashing to the digest. A multipart upload is checked.
    if (!in_parts_) return absl::OkStatus();
    auto completed = client_->CompleteMultipartUpload(key_, upload_id_, etags_);
    if (!completed.ok()) return completed;
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
  const bool single_;   // One streamed PUT, unless the key is taken.
  const size_t unit_;   // Bytes per hand-over to the thread.
  const size_t depth_;  // Units queued at most.
  // The receiving thread's.
  std::string buffer_;
  uint64_t received_ = 0;
  // The sending thread's until Close() joins it.
  crypto::Sha256 whole_;  // Of every unit, unless a PUT was sent.
  bool put_attempted_ = false;
  std::string upload_id_;
  std::vector<std::string> etags_;
  std::string sums_;
  bool already_stored_ = false;
  bool in_parts_ = false;  // A multipart upload (or the asset was stored).
  bool streamed_ = false;
  bool completed_ = false;

  std::mutex mu_;
  std::condition_variable ready_, space_;
  std::deque<std::string> queue_;
  bool closing_ = false;
  bool abandoned_ = false;
  std::atomic<bool> cancel_{false};
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
