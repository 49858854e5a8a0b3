#include "server/log/s3_object_sink.h"

#include "base/str_cat.h"

namespace loupe::server {
namespace {

class S3Sink : public ObjectSink {
 public:
  S3Sink(std::unique_ptr<storage::s3::S3Client> client, std::string prefix)
      : client_(std::move(client)), prefix_(std::move(prefix)) {}

  absl::Status Put(std::string_view key, std::string_view bytes,
                   const ObjectCaching& caching) override {
    return client_->Put(StrCat(prefix_, key), bytes,
                        {StrCat("Cache-Control: ", caching.CacheControl()),
                         StrCat("Content-Type: ", caching.content_type)});
  }

  absl::StatusOr<std::string> Get(std::string_view key) override {
    return client_->Get(StrCat(prefix_, key));
  }

  std::string Describe() const override {
    return StrCat("s3 ", client_->options().endpoint, "/",
                  client_->options().bucket, "/", prefix_);
  }

 private:
  std::unique_ptr<storage::s3::S3Client> client_;
  const std::string prefix_;
};

}  // namespace

std::unique_ptr<ObjectSink> NewS3Sink(
    std::unique_ptr<storage::s3::S3Client> client, std::string prefix) {
  return std::make_unique<S3Sink>(std::move(client), std::move(prefix));
}

}  // namespace loupe::server
