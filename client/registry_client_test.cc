// RegistryClient::UploadFile puts the digest where the server says: a peer
// on port 0 that records what each upload carried. (The real server's side
// of this, the metadata it sends, is in tests/registry_test.cc.)
#include "client/registry_client.h"

#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "crypto/sha256.h"
#include "loupe/v1/registry.grpc.pb.h"

namespace loupe::client {
namespace {

// What one UploadAsset call carried.
struct Received {
  std::string header_sha256;
  std::string trailer_sha256;
  std::string bytes;
};

class Recorder {
 public:
  void Add(Received r) {
    std::lock_guard lock(mu_);
    calls_.push_back(std::move(r));
  }
  std::vector<Received> calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }

 private:
  std::mutex mu_;
  std::vector<Received> calls_;
};

void Take(const v1::UploadAssetRequest& m, Received* r) {
  if (m.has_header()) r->header_sha256 = m.header().sha256();
  if (m.has_chunk()) r->bytes += m.chunk();
  if (m.has_trailer()) r->trailer_sha256 = m.trailer().sha256();
}

// Sends "loupe-digest-first-above: <says>" at once, as loupe-server does.
class SayingPeer final : public v1::RegistryService::CallbackService {
 public:
  SayingPeer(std::string says, Recorder* recorder)
      : says_(std::move(says)), recorder_(recorder) {}
  grpc::ServerReadReactor<v1::UploadAssetRequest>* UploadAsset(
      grpc::CallbackServerContext* ctx,
      v1::UploadAssetResponse* response) override {
    ctx->AddInitialMetadata("loupe-digest-first-above", says_);
    return new Reactor(recorder_, response);
  }

 private:
  class Reactor final : public grpc::ServerReadReactor<v1::UploadAssetRequest> {
   public:
    Reactor(Recorder* recorder, v1::UploadAssetResponse* response)
        : recorder_(recorder), response_(response) {
      StartSendInitialMetadata();
      StartRead(&message_);
    }
    void OnReadDone(bool ok) override {
      if (ok) {
        Take(message_, &received_);
        StartRead(&message_);
        return;
      }
      response_->set_size_bytes(received_.bytes.size());
      recorder_->Add(std::move(received_));
      Finish(grpc::Status::OK);
    }
    void OnDone() override { delete this; }

   private:
    Recorder* recorder_;
    v1::UploadAssetResponse* response_;
    v1::UploadAssetRequest message_;
    Received received_;
  };
  std::string says_;
  Recorder* recorder_;
};

// A server from before the metadata: synchronous, so its initial metadata
// goes out only with its answer.
class SilentPeer final : public v1::RegistryService::Service {
 public:
  explicit SilentPeer(Recorder* recorder) : recorder_(recorder) {}
  grpc::Status UploadAsset(grpc::ServerContext*,
                           grpc::ServerReader<v1::UploadAssetRequest>* reader,
                           v1::UploadAssetResponse* response) override {
    Received received;
    v1::UploadAssetRequest message;
    while (reader->Read(&message)) Take(message, &received);
    response->set_size_bytes(received.bytes.size());
    recorder_->Add(std::move(received));
    return grpc::Status::OK;
  }

 private:
  Recorder* recorder_;
};

class UploadFileTest : public ::testing::Test {
 protected:
  // Keeps `peer` until after the server has shut down (TearDown).
  void Serve(std::unique_ptr<grpc::Service> peer) {
    peer_ = std::move(peer);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterService(peer_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(port, 0);
    client_.emplace("127.0.0.1:" + std::to_string(port), "token",
                    ChannelOptions{"", "", "", true});
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  // A file of `size` bytes in the test's temporary directory.
  std::string File(size_t size) {
    std::string bytes(size, '\0');
    for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>(i * 131);
    const auto path = std::filesystem::path(::testing::TempDir()) /
                      ("upload-" + std::to_string(size) + ".stl");
    std::ofstream(path, std::ios::binary) << bytes;
    contents_[path.string()] = bytes;
    return path.string();
  }
  std::string Sha(const std::string& path) {
    return crypto::Sha256::HexOf(contents_[path]);
  }

  Recorder recorder_;
  std::unique_ptr<grpc::Service> peer_;  // Outlives server_.
  std::unique_ptr<grpc::Server> server_;
  std::optional<RegistryClient> client_;
  std::map<std::string, std::string> contents_;
};

TEST_F(UploadFileTest, HashesWhileSendingWhenTheServerStoresInPlace) {
  Serve(std::make_unique<SayingPeer>("never", &recorder_));
  const std::string path = File((3 << 20) + 5);
  ASSERT_TRUE(client_->UploadFile(path).ok());
  const auto calls = recorder_.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].header_sha256, "");
  EXPECT_EQ(calls[0].trailer_sha256, Sha(path));
  EXPECT_EQ(calls[0].bytes, contents_[path]);
}

TEST_F(UploadFileTest, DeclaresTheDigestFirstAboveTheServersSize) {
  Serve(std::make_unique<SayingPeer>("1048576", &recorder_));
  const std::string big = File((1 << 20) + 1);
  const std::string small = File(1 << 20);
  ASSERT_TRUE(client_->UploadFile(big).ok());
  ASSERT_TRUE(client_->UploadFile(small).ok());
  const auto calls = recorder_.calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].header_sha256, Sha(big));
  EXPECT_EQ(calls[0].trailer_sha256, "");
  EXPECT_EQ(calls[0].bytes, contents_[big]);
  EXPECT_EQ(calls[1].header_sha256, "");
  EXPECT_EQ(calls[1].trailer_sha256, Sha(small));
}

TEST_F(UploadFileTest, AServerThatDoesNotSayGetsTheDigestFirst) {
  Serve(std::make_unique<SilentPeer>(&recorder_));
  const std::string path = File(200000);
  const auto start = std::chrono::steady_clock::now();
  auto uploaded = client_->UploadFile(path);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(uploaded.ok()) << uploaded.status();
  EXPECT_EQ(uploaded->size_bytes(), 200000u);
  EXPECT_GE(took, std::chrono::seconds(5));
  EXPECT_LT(took, std::chrono::seconds(30));
  // The call that waited was cancelled before any byte was sent (the peer
  // may record it after the second).
  auto calls = recorder_.calls();
  for (int i = 0; calls.size() < 2 && i < 100; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    calls = recorder_.calls();
  }
  ASSERT_EQ(calls.size(), 2u);
  const bool sent_second = calls[0].bytes.empty();
  const Received& waited = calls[sent_second ? 0 : 1];
  const Received& sent = calls[sent_second ? 1 : 0];
  EXPECT_EQ(waited.bytes, "");
  EXPECT_EQ(waited.header_sha256, "");
  EXPECT_EQ(sent.header_sha256, Sha(path));
  EXPECT_EQ(sent.trailer_sha256, "");
  EXPECT_EQ(sent.bytes, contents_[path]);
}

}  // namespace
}  // namespace loupe::client
