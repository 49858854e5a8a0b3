#include "server/storage/s3/s3_asset_store.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "base/str_cat.h"

namespace loupe::storage::s3 {
namespace {

// Forwards everything to the metadata engine but assets and the scrub.
class S3AssetStore final : public Store {
 public:
  S3AssetStore(std::unique_ptr<Store> inner, std::unique_ptr<S3Client> client,
               S3AssetOptions options)
      : inner_(std::move(inner)),
        client_(std::move(client)),
        options_(std::move(options)) {}

  // RecordReader.
  absl::StatusOr<v1::Piece> GetPiece(std::string_view id) override {
    return inner_->GetPiece(id);
  }
  absl::StatusOr<v1::TwinVersion> GetVersion(std::string_view id,
                                             uint32_t number) override {
    return inner_->GetVersion(id, number);
  }
  absl::StatusOr<v1::GeometryCheck> GetCheck(std::string_view id) override {
    return inner_->GetCheck(id);
  }
  absl::StatusOr<VersionPage> ListVersions(std::string_view id, uint32_t after,
                                           size_t limit) override {
    return inner_->ListVersions(id, after, limit);
  }
  absl::StatusOr<PiecePage> ListPieces(std::string_view studio,
                                       std::string_view start_after,
                                       size_t limit) override {
    return inner_->ListPieces(studio, start_after, limit);
  }
  absl::StatusOr<v1::Certificate> GetCertificate(std::string_view id) override {
    return inner_->GetCertificate(id);
  }
  absl::StatusOr<std::optional<v1::Certificate>> GetCertificateOf(
      std::string_view id, uint32_t version) override {
    return inner_->GetCertificateOf(id, version);
  }
  absl::StatusOr<std::vector<v1::Certificate>> ListCertificates(
      std::string_view id) override {
    return inner_->ListCertificates(id);
  }
  absl::StatusOr<std::vector<v1::OwnerRecord>> ListOwners(
      std::string_view id) override {
    return inner_->ListOwners(id);
  }
  absl::StatusOr<bool> IsAssetUploadedBy(const crypto::Sha256Digest& sha,
                                         std::string_view studio) override {
    return inner_->IsAssetUploadedBy(sha, studio);
  }
  absl::StatusOr<bool> IsAssetOfPiece(const crypto::Sha256Digest& sha,
                                      std::string_view id) override {
    return inner_->IsAssetOfPiece(sha, id);
  }

  // LogReader.
  absl::Status LogHealth() override { return inner_->LogHealth(); }
  absl::StatusOr<uint64_t> LogSize() override { return inner_->LogSize(); }
  absl::StatusOr<crypto::Hash> LogRoot(uint64_t size) override {
    return inner_->LogRoot(size);
  }
  absl::StatusOr<std::vector<crypto::Hash>> LogInclusionProof(
      uint64_t index, uint64_t size) override {
    return inner_->LogInclusionProof(index, size);
  }
  absl::StatusOr<std::vector<crypto::Hash>> LogConsistencyProof(
      uint64_t old_size, uint64_t new_size) override {
    return inner_->LogConsistencyProof(old_size, new_size);
  }
  absl::StatusOr<std::vector<crypto::Hash>> LogNodeHashes(
      int level, uint64_t first, uint64_t count) override {
    return inner_->LogNodeHashes(level, first, count);
  }
  absl::StatusOr<std::vector<std::string>> LogEntries(uint64_t start,
                                                      size_t count) override {
    return inner_->LogEntries(start, count);
  }
  absl::StatusOr<std::optional<CheckpointRecord>> LatestCheckpoint() override {
    return inner_->LatestCheckpoint();
  }
  absl::Status SaveCheckpoint(const CheckpointRecord& record) override {
    return inner_->SaveCheckpoint(record);
  }
  absl::StatusOr<bool> TryHoldPublisherLease(
      std::string_view holder, std::chrono::milliseconds ttl) override {
    return inner_->TryHoldPublisherLease(holder, ttl);
  }

  // AssetStore: bytes in the bucket, records in the engine.
  absl::StatusOr<std::unique_ptr<AssetWriter>> BeginUpload() override {
    Store* inner = inner_.get();
    return NewS3AssetWriter(client_.get(), options_,
                            [inner](const crypto::Sha256Digest& sha,
                                    uint64_t size, std::string_view studio) {
                              return inner->RecordExternalAsset(sha, size,
                                                                studio);
                            });
  }
  absl::StatusOr<std::unique_ptr<AssetWriter>> BeginUploadOf(
      const crypto::Sha256Digest& declared, uint64_t size) override {
    if (size <= options_.part_size) return BeginUpload();
    Store* inner = inner_.get();
    return NewS3StreamingWriter(
        client_.get(), options_,
        [inner](const crypto::Sha256Digest& sha, uint64_t n,
                std::string_view studio) {
          return inner->RecordExternalAsset(sha, n, studio);
        },
        declared, size);
  }
  std::optional<uint64_t> DigestFirstAbove() const override {
    return options_.part_size;
  }
  absl::StatusOr<std::unique_ptr<AssetReader>> OpenAsset(
      const crypto::Sha256Digest& sha) override {
    auto here = inner_->OpenAsset(sha);
    if (!IsExternalAsset(here.status())) return here;  // Or not migrated.
    return OpenS3Asset(client_.get(), options_, sha);
  }
  absl::StatusOr<bool> RecordExternalAsset(const crypto::Sha256Digest& sha,
                                           uint64_t size,
                                           std::string_view studio) override {
    return inner_->RecordExternalAsset(sha, size, studio);
  }
  absl::Status MarkAssetExternal(const crypto::Sha256Digest& sha) override {
    return inner_->MarkAssetExternal(sha);
  }

  // StoreAdmin.
  absl::StatusOr<ScrubReport> Scrub() override {
    auto report = inner_->Scrub();
    if (!report.ok()) return report;
    if (auto s = ScrubBucket(client_.get(), options_, &*report); !s.ok()) {
      return s;
    }
    return report;
  }
  absl::Status Backup(const std::string& directory) override {
    if (auto s = inner_->Backup(directory); !s.ok()) return s;
    return WriteBucketManifest(client_.get(), *inner_, directory).status();
  }
  absl::StatusOr<Stats> CountStats() override { return inner_->CountStats(); }

  void Commit(Work work, Done done) override {
    inner_->Commit(std::move(work), std::move(done));
  }

 private:
  std::unique_ptr<Store> inner_;
  std::unique_ptr<S3Client> client_;
  S3AssetOptions options_;
};

absl::StatusOr<std::string> ReadSecret(const std::string& value,
                                       const std::string& file, const char* env,
                                       const char* field) {
  if (!value.empty()) return value;
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in) {
      return absl::InvalidArgumentError(
          StrCat("assets.s3.", field, "_file: cannot read ", file));
    }
    std::stringstream text;
    text << in.rdbuf();
    std::string s = text.str();
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
  }
  if (const char* v = std::getenv(env); v != nullptr && *v != '\0') return v;
  return absl::InvalidArgumentError(
      StrCat("assets.s3.", field, ": set it, ", field, "_file, or ", env));
}

}  // namespace

constexpr uint64_t kMaxSinglePut = uint64_t{5} << 30;

absl::StatusOr<S3Setup> S3SetupFromConfig(const v1::ServerConfig& config) {
  const auto& c = config.assets().s3();
  S3Setup setup;
  setup.client.endpoint = c.endpoint();
  setup.client.bucket = c.bucket();
  if (!c.region().empty()) setup.client.region = c.region();
  if (c.max_attempts() > 0) {
    setup.client.max_attempts = static_cast<int>(c.max_attempts());
  }
  auto id = ReadSecret(c.access_key_id(), c.access_key_id_file(),
                       "AWS_ACCESS_KEY_ID", "access_key_id");
  if (!id.ok()) return id.status();
  auto secret = ReadSecret("", c.secret_access_key_file(),
                           "AWS_SECRET_ACCESS_KEY", "secret_access_key");
  if (!secret.ok()) return secret.status();
  setup.client.access_key_id = *id;
  setup.client.secret_access_key = *secret;
  for (const auto& [name, value] :
       {std::pair{"endpoint", c.endpoint()}, std::pair{"bucket", c.bucket()}}) {
    if (value.empty()) {
      return absl::InvalidArgumentError(
          StrCat("assets.s3.", name, ": required"));
    }
  }
  setup.assets.remove_orphans = c.scrub_removes_orphans();
  if (c.has_orphan_grace_seconds()) {
    setup.assets.orphan_grace_seconds = c.orphan_grace_seconds();
  }
  if (c.has_single_put_max_bytes()) {
    if (c.single_put_max_bytes() > kMaxSinglePut) {
      return absl::InvalidArgumentError(
          StrCat("assets.s3.single_put_max_bytes: ", c.single_put_max_bytes(),
                 " is over S3's limit for one PUT (", kMaxSinglePut, ")"));
    }
    setup.assets.single_put_max = c.single_put_max_bytes();
  }
  setup.assets.spool_dir =
      !c.spool_dir().empty() ? c.spool_dir()
      : !config.data_dir().empty()
          ? StrCat(config.data_dir(), "/s3-spool")
          : std::filesystem::temp_directory_path().string();
  return setup;
}

// Whether the server refuses a PUT whose bytes do not hash to its
// x-amz-content-sha256 (S3 and Swift's s3api do: BadDigest, HTTP 400).
// One-PUT uploads rely on it; without it every upload goes in parts,
// checked here before the object completes.
absl::StatusOr<bool> ServerChecksPayloadDigest(S3Client& client) {
  const std::string key = "assets/probe-payload-digest";
  const S3Client::BodySource one = [](char* out,
                                      size_t) -> absl::StatusOr<size_t> {
    *out = 'x';
    return 1;
  };
  const absl::Status s =
      client.PutStream(key, 1, crypto::Sha256::HexOf("y"), one);
  if (s.ok()) {
    (void)client.Delete(key);  // Best effort; scrub would name it.
    return false;
  }
  if (IsDigestRefusal(s)) return true;
  // Refused for another reason: no proof that it checks, so assume not.
  if (absl::IsFailedPrecondition(s)) return false;
  return s;
}

absl::Status PrepareBucket(S3Client& client, S3AssetOptions& options) {
  std::error_code ec;
  std::filesystem::create_directories(options.spool_dir, ec);
  if (ec) {
    return absl::InternalError(StrCat("assets.s3.spool_dir: cannot create ",
                                      options.spool_dir, ": ", ec.message()));
  }
  // Listing needs only read access; create the bucket only if absent.
  auto listed = client.List("assets/");
  if (absl::IsNotFound(listed.status())) {
    if (auto s = client.CreateBucket(); !s.ok()) return s;
  } else if (!listed.ok()) {
    return listed.status();
  }
  if (options.single_put_max == 0) return absl::OkStatus();
  auto checks = ServerChecksPayloadDigest(client);
  if (!checks.ok()) return checks.status();
  if (!*checks) {
    std::cerr << "loupe-server: assets.s3: " << client.options().endpoint
              << " stores bytes that do not match their "
                 "x-amz-content-sha256; every upload goes as a multipart "
                 "upload, checked before it completes\n";
    options.single_put_max = 0;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Store>> NewS3AssetStore(
    std::unique_ptr<Store> metadata, const S3Setup& setup) {
  auto client = S3Client::Create(setup.client);
  if (!client.ok()) return client.status();
  S3AssetOptions options = setup.assets;
  if (auto s = PrepareBucket(**client, options); !s.ok()) return s;
  return std::unique_ptr<Store>(
      new S3AssetStore(std::move(metadata), *std::move(client), options));
}

}  // namespace loupe::storage::s3
