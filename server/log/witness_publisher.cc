#include "server/log/witness_publisher.h"

#include <curl/curl.h>

#include <chrono>
#include <iostream>
#include <mutex>
#include <optional>
#include <set>

#include "absl/time/clock.h"
#include "base/str_cat.h"

namespace loupe::server {
namespace {

using Record = storage::Store::CheckpointRecord;

constexpr size_t kMaxAnswerBytes = 64 << 10;
constexpr absl::Duration kRefusalBackoff = absl::Minutes(1);

// One witness as the publisher sees it.
struct Target {
  crypto::Cosigner cosigner;
  std::string endpoint;  // <url>/add-checkpoint
  // The size it last acknowledged (0 until it says: it answers 409 with
  // its own size if it has one).
  uint64_t known_size = 0;
  // The checkpoint it last refused and when: not sent again for a while.
  std::optional<std::pair<uint64_t, crypto::Hash>> refused;
  absl::Time refused_at;
  // The exchange in flight.
  CURL* easy = nullptr;
  std::string body, answer;
  long status = 0;
  std::string content_type, error;
  absl::Time started;
};

size_t Collect(char* data, size_t size, size_t n, void* user) {
  auto* out = static_cast<std::string*>(user);
  if (out->size() + size * n > kMaxAnswerBytes) return 0;  // Cut it off.
  out->append(data, size * n);
  return size * n;
}

std::string FirstLine(std::string_view text) {
  return std::string(text.substr(0, std::min(text.find('\n'), size_t{200})));
}

}  // namespace

absl::Status FinishWitnessingConfig(v1::ServerConfig* config) {
  auto* w = config->mutable_witnessing();
  if (w->timeout_ms() == 0) w->set_timeout_ms(5000);
  if (w->interval_ms() == 0) w->set_interval_ms(1000);
  std::set<std::string> names;
  for (int i = 0; i < w->witnesses_size(); ++i) {
    const auto& e = w->witnesses(i);
    const std::string path = StrCat("witnessing.witnesses[", i, "]");
    if (!crypto::ValidKeyName(e.name()) || !names.insert(e.name()).second) {
      return absl::InvalidArgumentError(
          StrCat(path, ".name: a distinct key name (no spaces or \"+\")"));
    }
    if (!crypto::ParsePublicKeyHex(e.public_key()).ok()) {
      return absl::InvalidArgumentError(
          StrCat(path, ".public_key: not 64 hex"));
    }
    if (!e.url().starts_with("http://") && !e.url().starts_with("https://")) {
      return absl::InvalidArgumentError(
          StrCat(path, ".url: http:// or https:// (the submission prefix)"));
    }
  }
  if (w->quorum() == 0) w->set_quorum(w->witnesses_size());
  if (w->quorum() > static_cast<uint32_t>(w->witnesses_size())) {
    return absl::InvalidArgumentError(
        "witnessing.quorum: at most the number of witnesses");
  }
  return absl::OkStatus();
}

std::vector<crypto::Cosigner> ConfiguredWitnesses(
    const v1::WitnessingConfig& config) {
  std::vector<crypto::Cosigner> out;
  for (const auto& e : config.witnesses()) {
    out.push_back({e.name(), *crypto::ParsePublicKeyHex(e.public_key())});
  }
  return out;
}

struct WitnessPublisher::Impl {
  v1::WitnessingConfig config;
  TransparencyLog* log = nullptr;
  storage::Store* store = nullptr;
  http::Metrics* metrics = nullptr;
  std::function<bool()> leading;  // Null: always.
  std::vector<Target> targets;
  CURLM* multi = nullptr;
  std::optional<Record> current;  // The checkpoint being cosigned.

  std::thread thread;
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;  // Guarded by mu.
  std::once_flag stop_once;

  ~Impl() {
    for (auto& t : targets) {
      if (t.easy != nullptr) curl_easy_cleanup(t.easy);
    }
    if (multi != nullptr) curl_multi_cleanup(multi);
  }

  bool Stopping() {
    std::lock_guard lock(mu);
    return stopping;
  }

  void Run() {
    const auto interval = std::chrono::milliseconds(config.interval_ms());
    std::unique_lock lock(mu);
    while (!stopping) {
      lock.unlock();
      Round();
      lock.lock();
      cv.wait_for(lock, interval, [this] { return stopping; });
    }
  }

  void Report(const Target& t, std::string_view code, std::string_view why) {
    const double seconds = absl::ToDoubleSeconds(absl::Now() - t.started);
    metrics->Record("witness", t.cosigner.name, code, seconds);
    if (code == "200") return;
    std::cerr << "loupe-server: witness " << t.cosigner.name << " ("
              << t.endpoint << ") " << why << "\n"
              << std::flush;
  }

  // Prepares `t`'s request for `current`. False (reported) if it cannot.
  bool Prepare(Target& t) {
    const Record& c = *current;
    crypto::AddCheckpointRequest request{t.known_size, {}, c.note};
    if (t.known_size > c.size) {
      Report(t, "ahead",
             StrCat("has cosigned size ", t.known_size,
                    " but this log's newest checkpoint is of ", c.size,
                    " entries (was the registry restored "
                    "from an older backup?)"));
      return false;
    }
    if (t.known_size > 0 && t.known_size < c.size) {
      auto proof = store->LogConsistencyProof(t.known_size, c.size);
      if (!proof.ok()) {
        Report(t, "error",
               StrCat("no consistency proof from ", t.known_size, ": ",
                      proof.status().message()));
        return false;
      }
      request.proof = *std::move(proof);
    }
    t.body = crypto::EncodeAddCheckpoint(request);
    t.answer.clear();
    t.status = 0;
    t.content_type.clear();
    t.error.clear();
    t.started = absl::Now();
    if (t.easy == nullptr) t.easy = curl_easy_init();
    CURL* e = t.easy;
    curl_easy_reset(e);
    curl_easy_setopt(e, CURLOPT_URL, t.endpoint.c_str());
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, t.body.data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(t.body.size()));
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
                     static_cast<long>(config.timeout_ms()));
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(config.timeout_ms()));
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, Collect);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &t.answer);
    if (!config.ca_file().empty()) {
      curl_easy_setopt(e, CURLOPT_CAINFO, config.ca_file().c_str());
    }
    return true;
  }

  // Sends every request of `batch` at once; waits for all (each bounded by
  // the timeout) or for Stop().
  void Exchange(const std::vector<Target*>& batch) {
    static curl_slist* const headers = [] {
      curl_slist* h = curl_slist_append(nullptr, "Content-Type: text/plain");
      return curl_slist_append(h, "Expect:");  // No 100-continue wait.
    }();
    for (Target* t : batch) {
      curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, headers);
      curl_multi_add_handle(multi, t->easy);
    }
    int running = static_cast<int>(batch.size());
    while (running > 0 && !Stopping()) {
      curl_multi_perform(multi, &running);
      if (running > 0) curl_multi_poll(multi, nullptr, 0, 100, nullptr);
    }
    int left = 0;
    while (CURLMsg* m = curl_multi_info_read(multi, &left)) {
      if (m->msg != CURLMSG_DONE) continue;
      for (Target* t : batch) {
        if (t->easy != m->easy_handle) continue;
        if (m->data.result != CURLE_OK) {
          t->error = curl_easy_strerror(m->data.result);
        } else {
          curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &t->status);
          char* type = nullptr;
          curl_easy_getinfo(t->easy, CURLINFO_CONTENT_TYPE, &type);
          if (type != nullptr) t->content_type = type;
        }
      }
    }
    for (Target* t : batch) {
      if (t->status == 0 && t->error.empty()) t->error = "stopped";
      curl_multi_remove_handle(multi, t->easy);
    }
  }

  // Handles `t`'s answer: its cosignature lines go to `lines`. True if it
  // should be asked again at once (a 409 that taught it the size).
  bool Judge(Target& t, std::string* lines) {
    const Record& c = *current;
    if (!t.error.empty()) {
      Report(t, "error", StrCat("unreachable: ", t.error));
      return false;
    }
    if (t.status == 200) {
      size_t start = 0;
      bool vouched = false;
      for (size_t nl; (nl = t.answer.find('\n', start)) != std::string::npos;
           start = nl + 1) {
        const std::string line = t.answer.substr(start, nl + 1 - start);
        auto ok = crypto::VerifyCosignatures(c.note + line, {t.cosigner});
        if (ok.ok() && !ok->empty()) {
          *lines += line;
          vouched = true;
        }
      }
      if (!vouched) {
        Report(t, "unverified",
               "answered 200 without a cosignature that verifies with its "
               "configured public key");
        return false;
      }
      t.known_size = c.size;
      t.refused.reset();
      Report(t, "200", "");
      return false;
    }
    if (t.status == 409) {
      auto size = crypto::ParseTlogSize(t.answer);
      if (size.ok() && *size != t.known_size && *size <= c.size) {
        t.known_size = *size;
        Report(t, "409",
               StrCat("last cosigned size ", *size,
                      "; sending a "
                      "proof from there"));
        return true;
      }
      if (size.ok()) t.known_size = *size;
      if (size.ok() && *size > c.size) {
        t.refused = {c.size, c.root};
        t.refused_at = absl::Now();
        Report(t, "409",
               StrCat("REFUSED the checkpoint of size ", c.size,
                      ": it has cosigned a tree of ", *size,
                      " entries of this log (a longer history: a fork, or "
                      "this registry was restored from an older backup)"));
        return false;
      }
    }
    t.refused = {c.size, c.root};
    t.refused_at = absl::Now();
    Report(t, std::to_string(t.status),
           StrCat("REFUSED the checkpoint of size ", c.size, ": HTTP ",
                  t.status, ": ", FirstLine(t.answer),
                  t.status == 422 ? " (the witness holds a history this log's "
                                    "contradicts: a fork, or a rollback)"
                                  : ""));
    return false;
  }

  void Round() {
    if (leading && !leading()) return;  // Another front end submits.
    auto newest = log->Newest();
    if (!newest.ok()) return;  // No tree to show (e.g. the log is damaged).
    if (!current || current->size != newest->size ||
        current->root != newest->root) {
      current = *newest;
    }
    std::set<std::string> cosigned;
    if (auto have = crypto::VerifyCosignatures(current->note,
                                               ConfiguredWitnesses(config));
        have.ok()) {
      for (const auto& c : *have) cosigned.insert(c.name);
    }
    std::vector<Target*> batch;
    for (auto& t : targets) {
      if (cosigned.count(t.cosigner.name)) continue;
      if (t.refused && t.refused->first == current->size &&
          t.refused->second == current->root &&
          absl::Now() - t.refused_at < kRefusalBackoff) {
        continue;
      }
      if (Prepare(t)) batch.push_back(&t);
    }
    std::string lines;
    for (int attempt = 0; attempt < 2 && !batch.empty(); ++attempt) {
      Exchange(batch);
      std::vector<Target*> again;
      for (Target* t : batch) {
        if (Judge(*t, &lines) && Prepare(*t)) again.push_back(t);
      }
      batch = std::move(again);
    }
    if (lines.empty()) return;
    current->note += lines;
    if (auto s = log->AddCosignatures(*current); !s.ok()) {
      std::cerr << "loupe-server: storing witness cosignatures: " << s.message()
                << "\n";
    }
  }
};

absl::StatusOr<std::unique_ptr<WitnessPublisher>> WitnessPublisher::Start(
    const v1::WitnessingConfig& config, TransparencyLog* log,
    storage::Store* store, http::Metrics* metrics,
    std::function<bool()> leading) {
  static const CURLcode global = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (global != CURLE_OK) {
    return absl::InternalError(StrCat("libcurl: ", curl_easy_strerror(global)));
  }
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->log = log;
  impl->leading = std::move(leading);
  impl->store = store;
  impl->metrics = metrics;
  impl->multi = curl_multi_init();
  if (impl->multi == nullptr) return absl::InternalError("libcurl: no handle");
  const auto cosigners = ConfiguredWitnesses(config);
  for (int i = 0; i < config.witnesses_size(); ++i) {
    std::string url = config.witnesses(i).url();
    while (url.ends_with("/")) url.pop_back();
    Target t;
    t.cosigner = cosigners[i];
    t.endpoint = url + "/add-checkpoint";
    impl->targets.push_back(std::move(t));
  }
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->Run(); });
  return std::unique_ptr<WitnessPublisher>(
      new WitnessPublisher(std::move(impl)));
}

WitnessPublisher::WitnessPublisher(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}

void WitnessPublisher::Stop() {
  std::call_once(impl_->stop_once, [this] {
    {
      std::lock_guard lock(impl_->mu);
      impl_->stopping = true;
    }
    impl_->cv.notify_all();
    if (impl_->thread.joinable()) impl_->thread.join();
  });
}

WitnessPublisher::~WitnessPublisher() { Stop(); }

}  // namespace loupe::server
