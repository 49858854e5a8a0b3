#include "server/storage/s3/s3_assets.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <deque>
#include <mutex>
#include <set>
#include <thread>

#include "base/str_cat.h"

namespace loupe::storage::s3 {
namespace {

std::string Hex(const crypto::Sha256Digest& sha) { return crypto::ToHex(sha); }

uint64_t ChunkCount(uint64_t size) {
  return (size + kSumChunk - 1) / kSumChunk;
}

// The SHA-256 of each kSumChunk of `bytes` (a part; parts are multiples of
// kSumChunk except the last), appended to `sums`.
void AppendSums(std::string_view bytes, std::string* sums) {
  for (size_t at = 0; at < bytes.size(); at += kSumChunk) {
    const auto d = crypto::Sha256::Of(bytes.substr(at, kSumChunk));
    sums->append(reinterpret_cast<const char*>(d.data()), d.size());
  }
}

// Streams an upload into an unlinked spool file; Commit sends it.
class S3AssetWriter final : public AssetWriter {
 public:
  S3AssetWriter(S3Client* client, S3AssetOptions options, RecordFn record,
                int fd)
      : client_(client),
        options_(std::move(options)),
        record_(std::move(record)),
        fd_(fd) {}
  ~S3AssetWriter() override { close(fd_); }

  absl::Status Append(std::string_view bytes) override {
    while (!bytes.empty()) {
      const ssize_t n = write(fd_, bytes.data(), bytes.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        return absl::InternalError(StrCat("spooling an upload in ",
                                          options_.spool_dir, ": ",
                                          std::strerror(errno)));
      }
      whole_.Update(bytes.substr(0, static_cast<size_t>(n)));
      bytes.remove_prefix(static_cast<size_t>(n));
      received_ += static_cast<uint64_t>(n);
    }
    return absl::OkStatus();
  }

  uint64_t bytes_received() const override { return received_; }

  absl::StatusOr<AssetCommit> Commit(uint64_t size,
                                     const crypto::Sha256Digest& sha256,
                                     std::string_view studio_id) override {
    if (received_ != size) {
      return absl::InvalidArgumentError(StrCat("size_bytes: declared ", size,
                                               " bytes but ", received_,
                                               " arrived; nothing stored"));
    }
    // The bytes are checked before anything goes to the bucket, so only
    // the declared asset's bytes can ever replace an object under its key.
    if (const auto actual = whole_.Finish(); actual != sha256) {
      return Mismatch(sha256, actual);
    }
    auto stored = AlreadyStored(sha256);
    if (!stored.ok()) return stored.status();
    if (!*stored) {
      if (auto s = Upload(sha256); !s.ok()) return s;
    }
    auto known = record_(sha256, size, studio_id);
    if (!known.ok()) return known.status();
    return AssetCommit{sha256, size, *known};
  }

 private:
  // True if the bucket holds the object (of this size) and its sums.
  absl::StatusOr<bool> AlreadyStored(const crypto::Sha256Digest& sha) {
    auto head = client_->Head(ObjectKey(sha));
    if (absl::IsNotFound(head.status())) return false;
    if (!head.ok()) return head.status();
    if (head->size != received_) return false;
    auto sums = client_->Head(SumsKey(sha));
    if (absl::IsNotFound(sums.status())) return false;
    if (!sums.ok()) return sums.status();
    return true;
  }

  // Reads part `index` of the spool into part_ (its size returned).
  absl::StatusOr<std::string_view> ReadPart(uint64_t index) {
    part_.resize(options_.part_size);
    const uint64_t offset = index * options_.part_size;
    const size_t want = static_cast<size_t>(
        std::min<uint64_t>(options_.part_size, received_ - offset));
    size_t got = 0;
    while (got < want) {
      const ssize_t n = pread(fd_, part_.data() + got, want - got,
                              static_cast<off_t>(offset + got));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        return absl::InternalError(
            StrCat("reading the upload's spool: ", std::strerror(errno)));
      }
      got += static_cast<size_t>(n);
    }
    return std::string_view(part_.data(), want);
  }

  uint64_t Parts() const {
    return std::max<uint64_t>(
        1, (received_ + options_.part_size - 1) / options_.part_size);
  }

  absl::Status Mismatch(const crypto::Sha256Digest& declared,
                        const crypto::Sha256Digest& actual) {
    return absl::InvalidArgumentError(StrCat("sha256: declared ", Hex(declared),
                                             " but the bytes hash to ",
                                             Hex(actual), "; nothing stored"));
  }

  absl::Status Upload(const crypto::Sha256Digest& sha) {
    const std::string key = ObjectKey(sha);
    if (Parts() == 1) {
      auto part = ReadPart(0);
      if (!part.ok()) return part.status();
      const auto actual = crypto::Sha256::Of(*part);
      if (actual != sha) return Mismatch(sha, actual);
      std::string sums;
      AppendSums(*part, &sums);
      if (auto s = client_->Put(SumsKey(sha), sums); !s.ok()) return s;
      return client_->Put(key, *part);
    }
    if (received_ <= options_.single_put_max) return StreamSpool(sha, key);
    auto id = client_->CreateMultipartUpload(key);
    if (!id.ok()) return id.status();
    absl::Status s = UploadParts(sha, key, *id);
    if (!s.ok()) (void)client_->AbortMultipartUpload(key, *id);  // Best effort.
    return s;
  }

  // One PUT of the spool declaring `sha` (already checked), read a part
  // at a time while it is sent; sent again from the start on UNAVAILABLE,
  // as often as the client retries a request.
  absl::Status StreamSpool(const crypto::Sha256Digest& sha,
                           const std::string& key) {
    std::string sums;
    absl::Status sent;
    for (int attempt = 1;; ++attempt) {
      sums.clear();
      uint64_t index = 0;
      std::string_view part;
      const S3Client::BodySource source =
          [&](char* out, size_t capacity) -> absl::StatusOr<size_t> {
        if (part.empty()) {
          auto next = ReadPart(index++);
          if (!next.ok()) return next.status();
          part = *next;
          AppendSums(part, &sums);
        }
        const size_t take = std::min(capacity, part.size());
        std::memcpy(out, part.data(), take);
        part.remove_prefix(take);
        return take;
      };
      sent = client_->PutStream(key, received_, Hex(sha), source);
      if (!absl::IsUnavailable(sent) ||
          attempt >= client_->options().max_attempts) {
        break;
      }
      std::this_thread::sleep_for(client_->options().first_backoff *
                                  (1 << std::min(attempt - 1, 10)));
    }
    if (!sent.ok()) return sent;
    return client_->Put(SumsKey(sha), sums);
  }

  absl::Status UploadParts(const crypto::Sha256Digest& sha,
                           const std::string& key, const std::string& id) {
    crypto::Sha256 whole;
    std::string sums;
    std::vector<std::string> etags;
    for (uint64_t i = 0; i < Parts(); ++i) {
      auto part = ReadPart(i);
      if (!part.ok()) return part.status();
      whole.Update(*part);
      AppendSums(*part, &sums);
      auto etag = client_->UploadPart(key, id, static_cast<int>(i) + 1, *part);
      if (!etag.ok()) return etag.status();
      etags.push_back(*std::move(etag));
    }
    const auto actual = whole.Finish();
    if (actual != sha) return Mismatch(sha, actual);
    if (auto s = client_->Put(SumsKey(sha), sums); !s.ok()) return s;
    if (auto s = client_->CompleteMultipartUpload(key, id, etags); !s.ok()) {
      return s;
    }
    auto head = client_->Head(key);
    if (!head.ok()) return head.status();
    if (head->size != received_) {
      return absl::DataLossError(
          StrCat("asset ", Hex(sha), ": the bucket holds ", head->size,
                 " bytes after upload, not ", received_));
    }
    return absl::OkStatus();
  }

  S3Client* client_;
  S3AssetOptions options_;
  RecordFn record_;
  int fd_;
  uint64_t received_ = 0;
  crypto::Sha256 whole_;
  std::string part_;
};

// Reads an external asset with one streamed GET on a thread of its own
// (resumed where it broke off, on UNAVAILABLE), cut into 1 MiB chunks, at
// most `depth` queued ahead; each chunk is checked against its stored sum
// before it is returned, the whole digest at the end.
class S3AssetReader final : public AssetReader {
 public:
  S3AssetReader(S3Client* client, size_t depth, crypto::Sha256Digest sha,
                uint64_t size, std::string sums)
      : client_(client),
        depth_(std::max<size_t>(1, depth)),
        sha_(sha),
        size_(size),
        sums_(std::move(sums)) {}

  ~S3AssetReader() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      cancel_ = true;
      cv_.notify_all();
    }
    if (fetcher_.joinable()) fetcher_.join();
  }

  uint64_t size_bytes() const override { return size_; }

  absl::StatusOr<std::optional<std::string>> NextChunk() override {
    if (size_ == 0) {
      return crypto::Sha256::Of("") == sha_
                 ? absl::StatusOr<std::optional<std::string>>(std::nullopt)
                 : absl::DataLossError(StrCat("asset ", Hex(sha_),
                                              " does not match its digest"));
    }
    if (!fetcher_.joinable()) fetcher_ = std::thread([this] { Fetch(); });
    // Chunks checked by the fetcher come first; then its verdict: an
    // error, or the end once the whole digest matched.
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock,
             [this] { return !ready_.empty() || !error_.ok() || verified_; });
    if (ready_.empty()) {
      if (!error_.ok()) return error_;
      return std::nullopt;
    }
    std::string chunk = std::move(ready_.front());
    ready_.pop_front();
    cv_.notify_all();
    return std::optional<std::string>(std::move(chunk));
  }

 private:
  // On the fetcher: the object's bytes into 1 MiB chunks, queued.
  void Fetch() {
    uint64_t at = 0;
    std::string pending;
    absl::Status refused;  // The sink's own reason to stop.
    const S3Client::BodySink sink = [&](std::string_view bytes) {
      if (bytes.size() > size_ - at) {
        refused = absl::DataLossError(
            StrCat("asset ", Hex(sha_),
                   ": the bucket's object is longer than its record"));
        return false;
      }
      while (!bytes.empty()) {
        const size_t take = std::min(bytes.size(), kSumChunk - pending.size());
        pending.append(bytes.substr(0, take));
        bytes.remove_prefix(take);
        at += take;
        if (pending.size() == kSumChunk || at == size_) {
          if (refused = Check(pending); !refused.ok()) return false;
          if (!Deliver(std::move(pending))) return false;
          pending.clear();
        }
      }
      return true;
    };
    absl::Status s;
    auto wait = client_->options().first_backoff;
    for (int attempt = 1;; ++attempt) {
      const uint64_t from = at;
      s = client_->GetStream(ObjectKey(sha_), at, sink, &cancel_);
      if (!refused.ok()) s = refused;
      // Broken off after the last byte: nothing is missing.
      if (!s.ok() && refused.ok() && at == size_ && !stopping()) {
        s = absl::OkStatus();
      }
      if (at > from) {  // Progress: a fresh budget of attempts.
        attempt = 0;
        wait = client_->options().first_backoff;
      }
      if (s.ok() && at < size_) {
        s = absl::DataLossError(
            StrCat("asset ", Hex(sha_),
                   ": the bucket's object is shorter than its record"));
      }
      if (s.ok() || !absl::IsUnavailable(s) ||
          attempt >= client_->options().max_attempts || stopping()) {
        break;
      }
      {  // Then resume at `at`, unless the reader is dropped meanwhile.
        std::unique_lock<std::mutex> lock(mu_);
        if (cv_.wait_for(lock, wait, [this] { return stop_; })) break;
      }
      wait *= 2;
    }
    if (absl::IsNotFound(s)) {
      s = absl::DataLossError(StrCat(
          "asset ", Hex(sha_), ": its object is missing from the bucket"));
    }
    if (s.ok() && whole_.Finish() != sha_) {
      s = absl::DataLossError(
          StrCat("asset ", Hex(sha_), " does not match its digest"));
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (s.ok()) {
      verified_ = true;
    } else {
      error_ = s;
    }
    cv_.notify_all();
  }

  // On the fetcher: chunk `checked_` against its stored sum, before it can
  // reach a caller.
  absl::Status Check(std::string_view chunk) {
    const auto digest = crypto::Sha256::Of(chunk);
    if (std::memcmp(digest.data(), sums_.data() + checked_ * 32, 32) != 0) {
      return absl::DataLossError(StrCat(
          "asset ", Hex(sha_), ": chunk ", checked_, " of ", ChunkCount(size_),
          " fails its stored digest (the bucket's bytes changed)"));
    }
    whole_.Update(chunk);
    ++checked_;
    return absl::OkStatus();
  }

  // Queues a chunk (waits while depth_ are queued); false once stopping.
  bool Deliver(std::string chunk) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return stop_ || ready_.size() < depth_; });
    if (stop_) return false;
    ready_.push_back(std::move(chunk));
    cv_.notify_all();
    return true;
  }

  bool stopping() {
    std::lock_guard<std::mutex> lock(mu_);
    return stop_;
  }

  S3Client* client_;
  const size_t depth_;
  const crypto::Sha256Digest sha_;
  const uint64_t size_;
  const std::string sums_;
  // The fetcher's.
  uint64_t checked_ = 0;
  crypto::Sha256 whole_;
  std::atomic<bool> cancel_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> ready_;
  absl::Status error_;
  bool verified_ = false;  // Every chunk and the whole digest matched.
  bool stop_ = false;
  std::thread fetcher_;
};

}  // namespace

std::string ObjectKey(const crypto::Sha256Digest& sha256) {
  return StrCat("assets/", Hex(sha256));
}

std::string SumsKey(const crypto::Sha256Digest& sha256) {
  return StrCat("sums/", Hex(sha256));
}

absl::StatusOr<std::unique_ptr<AssetWriter>> NewS3AssetWriter(
    S3Client* client, const S3AssetOptions& options, RecordFn record) {
  std::string path = StrCat(options.spool_dir, "/upload-XXXXXX");
  const int fd = mkstemp(path.data());
  if (fd < 0) {
    return absl::InternalError(StrCat("cannot create a spool file in ",
                                      options.spool_dir, ": ",
                                      std::strerror(errno)));
  }
  unlink(path.c_str());  // Gone with the descriptor, even after a crash.
  return std::make_unique<S3AssetWriter>(client, options, std::move(record),
                                         fd);
}

absl::StatusOr<std::unique_ptr<AssetReader>> OpenS3Asset(
    S3Client* client, const S3AssetOptions& options,
    const crypto::Sha256Digest& sha256, std::optional<uint64_t> expected_size) {
  const std::string name = StrCat("asset ", Hex(sha256));
  auto head = client->Head(ObjectKey(sha256));
  if (absl::IsNotFound(head.status())) {
    return absl::DataLossError(StrCat(name, ": its object ", ObjectKey(sha256),
                                      " is missing from the bucket"));
  }
  if (!head.ok()) return head.status();
  if (expected_size && head->size != *expected_size) {
    return absl::DataLossError(StrCat(name, ": the bucket's object has ",
                                      head->size, " bytes, the record says ",
                                      *expected_size));
  }
  auto sums = client->Get(SumsKey(sha256));
  if (absl::IsNotFound(sums.status())) {
    return absl::DataLossError(StrCat(name, ": its chunk digests ",
                                      SumsKey(sha256),
                                      " are missing from the bucket"));
  }
  if (!sums.ok()) return sums.status();
  if (sums->size() != ChunkCount(head->size) * 32) {
    return absl::DataLossError(
        StrCat(name, ": its chunk digests do not fit its size (", head->size,
               " bytes)"));
  }
  return std::make_unique<S3AssetReader>(client, options.read_ahead / kSumChunk,
                                         sha256, head->size, *std::move(sums));
}

}  // namespace loupe::storage::s3
