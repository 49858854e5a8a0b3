#include "server/storage/s3/s3_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <thread>

#include "base/str_cat.h"
#include "crypto/sha256.h"
#include "server/storage/s3/s3_xml.h"

namespace loupe::storage::s3 {

struct S3Client::Request {
  std::string method;  // GET, PUT, POST, HEAD, DELETE.
  std::string key;     // "" for the bucket itself.
  std::string query;   // Without '?'.
  std::string_view body;
  std::optional<ByteRange> range;
  // 404 is an answer, not an error (Head, Delete, Abort).
  bool not_found_ok = false;
  // More header lines ("Cache-Control: ..."), signed like the others.
  std::vector<std::string> headers = {};
  // A streamed body (PutStream) instead of `body`: its size and SHA-256.
  const BodySource* source = nullptr;
  uint64_t source_size = 0;
  const std::atomic<bool>* cancel = nullptr;
  std::string source_sha256_hex = {};
  // A streamed answer (GetStream), from byte `from` to the end.
  const BodySink* sink = nullptr;
  uint64_t from = 0;
};

struct S3Client::Pool {
  std::mutex mu;
  std::vector<CURL*> free;
};

namespace {

constexpr size_t kMaxPooledHandles = 8;

// The SHA-256 of an empty body, as S3 wants it for bodiless requests.
constexpr char kEmptySha256[] =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// Percent-encodes (RFC 3986 unreserved kept, and '/' if `keep_slash`):
// keys in paths keep '/', query values do not.
std::string Encode(std::string_view key, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : key) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
        (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}
std::string EncodeKey(std::string_view key) { return Encode(key, true); }
std::string EncodeQuery(std::string_view v) { return Encode(v, false); }

struct Transfer {
  std::string_view whole_body;
  std::string_view body;                         // Remaining to send.
  const S3Client::BodySource* source = nullptr;  // Or the body's source.
  uint64_t source_left = 0;                      // Bytes the source still owes.
  bool source_started = false;
  const std::atomic<bool>* cancel = nullptr;
  absl::Status source_error;
  const S3Client::BodySink* sink = nullptr;  // 2xx bodies go there.
  bool sink_stopped = false;
  CURL* handle = nullptr;
  std::string received;
  std::string etag;
  std::string last_modified;
  uint64_t content_length = 0;
};

size_t ReadBody(char* buffer, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  if (t->source != nullptr) {
    // Never past the declared size: curl asks for a whole buffer.
    const size_t want =
        static_cast<size_t>(std::min<uint64_t>(size * n, t->source_left));
    if (want == 0) return 0;
    t->source_started = true;
    auto got = (*t->source)(buffer, want);
    if (got.ok() && *got > 0 && *got <= want) {
      t->source_left -= *got;
      return *got;
    }
    t->source_error = got.ok()
                          ? absl::InvalidArgumentError(
                                "the upload ended before its declared size")
                          : got.status();
    return CURL_READFUNC_ABORT;
  }
  const size_t take = std::min(size * n, t->body.size());
  std::memcpy(buffer, t->body.data(), take);
  t->body.remove_prefix(take);
  return take;
}

// curl rewinds a body to resend it on a new connection; a source can
// only start again if nothing was taken from it yet.
int SeekBody(void* user, curl_off_t offset, int origin) {
  auto* t = static_cast<Transfer*>(user);
  if (offset != 0 || origin != SEEK_SET) return CURL_SEEKFUNC_CANTSEEK;
  if (t->source == nullptr) {
    t->body = t->whole_body;
    return CURL_SEEKFUNC_OK;
  }
  return t->source_started ? CURL_SEEKFUNC_CANTSEEK : CURL_SEEKFUNC_OK;
}

int Progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* t = static_cast<Transfer*>(user);
  return t->cancel != nullptr && t->cancel->load() ? 1 : 0;
}

size_t WriteBody(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  if (t->sink != nullptr) {
    long http = 0;
    curl_easy_getinfo(t->handle, CURLINFO_RESPONSE_CODE, &http);
    if (http >= 200 && http < 300) {  // Else an error document: kept.
      if (!(*t->sink)(std::string_view(data, size * n))) {
        t->sink_stopped = true;
        return 0;  // Stops the transfer.
      }
      return size * n;
    }
  }
  t->received.append(data, size * n);
  return size * n;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '"')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == '\r' || s.back() == '\n' ||
                        s.back() == ' ' || s.back() == '"')) {
    s.remove_suffix(1);
  }
  return s;
}

size_t WriteHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::string_view line(data, size * n);
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return size * n;
  std::string name(line.substr(0, colon));
  std::transform(name.begin(), name.end(), name.begin(), ::tolower);
  const std::string_view value = Trim(line.substr(colon + 1));
  if (name == "etag") t->etag = std::string(value);
  if (name == "last-modified") t->last_modified = std::string(value);
  if (name == "content-length") {
    t->content_length = std::strtoull(std::string(value).c_str(), nullptr, 10);
  }
  return size * n;
}

bool RetryableCurl(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_COULDNT_RESOLVE_HOST:
      return true;
    default:
      return false;
  }
}

std::string Describe(const S3Client::Request& r, const S3Options& o) {
  return StrCat("s3 ", r.method, " ", o.bucket, "/", r.key);
}

absl::Status HttpError(long http, std::string_view body, std::string what) {
  std::string code = xml::First(body, "Code");
  std::string message = xml::First(body, "Message");
  const std::string detail =
      code.empty() ? StrCat("HTTP ", http)
                   : StrCat(code, " (HTTP ", http, "): ", message);
  if (http == 404) return absl::NotFoundError(StrCat(what, ": ", detail));
  if (http == 401 || http == 403) {
    return absl::PermissionDeniedError(StrCat(what, ": ", detail));
  }
  return absl::FailedPreconditionError(StrCat(what, ": ", detail));
}

}  // namespace

bool IsDigestRefusal(const absl::Status& s) {
  return absl::IsFailedPrecondition(s) &&
         (s.message().find("BadDigest") != std::string_view::npos ||
          s.message().find("XAmzContentSHA256Mismatch") !=
              std::string_view::npos);
}

S3Client::S3Client(S3Options options)
    : options_(std::move(options)), pool_(std::make_unique<Pool>()) {}

S3Client::~S3Client() {
  for (CURL* h : pool_->free) curl_easy_cleanup(h);
}

absl::StatusOr<std::unique_ptr<S3Client>> S3Client::Create(S3Options options) {
  const std::pair<const char*, const std::string*> required[] = {
      {"endpoint", &options.endpoint},
      {"bucket", &options.bucket},
      {"region", &options.region},
      {"access_key_id", &options.access_key_id},
      {"secret_access_key", &options.secret_access_key}};
  for (const auto& [name, value] : required) {
    if (value->empty()) {
      return absl::InvalidArgumentError(StrCat(name, ": required for s3"));
    }
  }
  while (options.endpoint.ends_with('/')) options.endpoint.pop_back();
  if (options.max_attempts < 1) options.max_attempts = 1;
  GlobalInit();
  return std::unique_ptr<S3Client>(new S3Client(std::move(options)));
}

void* S3Client::TakeHandle() {
  std::lock_guard<std::mutex> lock(pool_->mu);
  if (pool_->free.empty()) return curl_easy_init();
  CURL* h = pool_->free.back();
  pool_->free.pop_back();
  return h;
}

void S3Client::ReturnHandle(void* handle) {
  std::lock_guard<std::mutex> lock(pool_->mu);
  if (pool_->free.size() < kMaxPooledHandles) {
    pool_->free.push_back(static_cast<CURL*>(handle));
  } else {
    curl_easy_cleanup(static_cast<CURL*>(handle));
  }
}

std::string S3Client::Url(std::string_view key, std::string_view query) const {
  std::string url = StrCat(options_.endpoint, "/", options_.bucket);
  if (!key.empty()) url += StrCat("/", EncodeKey(key));
  if (!query.empty()) url += StrCat("?", query);
  return url;
}

absl::StatusOr<S3Client::Response> S3Client::RunOnce(const Request& r,
                                                     bool* retryable) {
  *retryable = false;
  CURL* h = static_cast<CURL*>(TakeHandle());
  if (h == nullptr) return absl::InternalError("curl_easy_init failed");
  curl_easy_reset(h);
  Transfer t;
  t.body = r.body;
  t.whole_body = r.body;
  t.source = r.source;
  t.source_left = r.source_size;
  t.cancel = r.cancel;
  t.sink = r.sink;
  t.handle = h;
  // A range's size is known: one allocation, not a doubling string.
  if (r.range) t.received.reserve(r.range->last - r.range->first + 1);
  const std::string url = Url(r.key, r.query);
  const std::string sigv4 = StrCat("aws:amz:", options_.region, ":s3");
  const std::string payload_sha = r.source != nullptr ? r.source_sha256_hex
                                  : r.body.empty()
                                      ? std::string(kEmptySha256)
                                      : crypto::Sha256::HexOf(r.body);
  curl_slist* headers = nullptr;
  headers = curl_slist_append(
      headers, StrCat("x-amz-content-sha256: ", payload_sha).c_str());
  for (const auto& line : r.headers) {
    headers = curl_slist_append(headers, line.c_str());
  }
  // No "Expect:" override: curl 7.88 signs the emptied header but does not
  // send it (SignatureDoesNotMatch). Swift answers 100-continue at once.
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_AWS_SIGV4, sigv4.c_str());
  curl_easy_setopt(h, CURLOPT_USERNAME, options_.access_key_id.c_str());
  curl_easy_setopt(h, CURLOPT_PASSWORD, options_.secret_access_key.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options_.connect_timeout.count()));
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME,
                   static_cast<long>(options_.stall_timeout.count()));
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, WriteBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, WriteHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
  const std::string range = r.range ? StrCat(r.range->first, "-", r.range->last)
                            : r.from > 0 ? StrCat(r.from, "-")
                                         : "";
  if (!range.empty()) curl_easy_setopt(h, CURLOPT_RANGE, range.c_str());
  if (r.sink != nullptr || r.source != nullptr) {
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, Progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &t);
  }
  if (r.sink != nullptr) {
    curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 256L << 10);
  }
  if (r.method == "PUT") {
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, ReadBody);
    curl_easy_setopt(h, CURLOPT_READDATA, &t);
    curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, SeekBody);
    curl_easy_setopt(h, CURLOPT_SEEKDATA, &t);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE,
                     static_cast<curl_off_t>(
                         r.source != nullptr ? r.source_size : r.body.size()));
    if (r.source != nullptr) {
      curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, 512L << 10);
      // Not a pooled connection the server may have closed meanwhile.
      curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
    }
  } else if (r.method == "POST") {
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, r.body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(r.body.size()));
  } else if (r.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (r.method != "GET") {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r.method.c_str());
  }
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  const CURLcode code = curl_easy_perform(h);
  long http = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &http);
  curl_slist_free_all(headers);
  ReturnHandle(h);
  if (!t.source_error.ok()) return t.source_error;
  if (t.sink_stopped || (t.cancel != nullptr && t.cancel->load())) {
    return absl::CancelledError(
        StrCat(Describe(r, options_), ": stopped by the caller"));
  }
  if (code != CURLE_OK) {
    *retryable = RetryableCurl(code);
    return absl::UnavailableError(
        StrCat(Describe(r, options_), ": ", curl_easy_strerror(code)));
  }
  if (http >= 500 || http == 429) {
    *retryable = true;
    return absl::UnavailableError(StrCat(Describe(r, options_), ": HTTP ", http,
                                         " ", xml::First(t.received, "Code")));
  }
  if ((http < 200 || http >= 300) && !(http == 404 && r.not_found_ok)) {
    return HttpError(http, t.received, Describe(r, options_));
  }
  return Response{http, std::move(t.received), std::move(t.etag),
                  t.content_length, std::move(t.last_modified)};
}

absl::StatusOr<S3Client::Response> S3Client::Run(const Request& r) {
  auto wait = options_.first_backoff;
  absl::Status last;
  for (int attempt = 1;; ++attempt) {
    bool retryable = false;
    auto response = RunOnce(r, &retryable);
    // A streamed body cannot be sent twice.
    if (response.ok() || !retryable || r.source != nullptr ||
        r.sink != nullptr) {
      return response;
    }
    last = response.status();
    if (attempt >= options_.max_attempts) break;
    std::this_thread::sleep_for(wait);
    wait *= 2;
  }
  return absl::UnavailableError(
      StrCat(last.message(), " (after ", options_.max_attempts, " attempts)"));
}

absl::Status S3Client::CreateBucket() {
  auto r = Run(Request{"PUT", "", "", {}, std::nullopt, false});
  if (r.ok() || (absl::IsFailedPrecondition(r.status()) &&
                 r.status().message().find("BucketAlreadyOwnedByYou") !=
                     std::string_view::npos)) {
    return absl::OkStatus();
  }
  return r.status();
}

absl::Status S3Client::Put(std::string_view key, std::string_view body,
                           std::vector<std::string> headers) {
  return Run(Request{"PUT", std::string(key), "", body, std::nullopt, false,
                     std::move(headers)})
      .status();
}

absl::Status S3Client::PutStream(std::string_view key, uint64_t size,
                                 std::string_view sha256_hex,
                                 const BodySource& source,
                                 const std::atomic<bool>* cancel) {
  Request r{"PUT", std::string(key), "", {}, std::nullopt, false};
  r.source = &source;
  r.cancel = cancel;
  r.source_size = size;
  r.source_sha256_hex = std::string(sha256_hex);
  return Run(r).status();
}

absl::Status S3Client::GetStream(std::string_view key, uint64_t first,
                                 const BodySink& sink,
                                 const std::atomic<bool>* cancel) {
  Request r{"GET", std::string(key), "", {}, std::nullopt, false};
  r.sink = &sink;
  r.from = first;
  r.cancel = cancel;
  return Run(r).status();
}

absl::StatusOr<std::string> S3Client::Get(std::string_view key,
                                          std::optional<ByteRange> range) {
  auto r = Run(Request{"GET", std::string(key), "", {}, range, false});
  if (!r.ok()) return r.status();
  return std::move(r->body);
}

absl::StatusOr<ObjectInfo> S3Client::Head(std::string_view key) {
  auto r = Run(Request{"HEAD", std::string(key), "", {}, std::nullopt, true});
  if (!r.ok()) return r.status();
  if (r->http == 404) {
    return absl::NotFoundError(
        StrCat("s3 object ", options_.bucket, "/", key, ": not found"));
  }
  return ObjectInfo{std::string(key), r->content_length,
                    xml::ParseTime(r->last_modified)};
}

absl::Status S3Client::Delete(std::string_view key) {
  return Run(Request{"DELETE", std::string(key), "", {}, std::nullopt, true})
      .status();
}

absl::StatusOr<ObjectPage> S3Client::List(std::string_view prefix,
                                          std::string_view continuation) {
  // Query parameters in sorted order (the canonical request wants them so;
  // curl signs the query as given).
  std::string query = "list-type=2";
  if (!continuation.empty()) {
    query =
        StrCat("continuation-token=", EncodeQuery(continuation), "&", query);
  }
  query += StrCat("&prefix=", EncodeQuery(prefix));
  auto r = Run(Request{"GET", "", query, {}, std::nullopt, false});
  if (!r.ok()) return r.status();
  ObjectPage page;
  for (std::string_view c : xml::Elements(r->body, "Contents")) {
    page.objects.push_back(
        {xml::First(c, "Key"),
         std::strtoull(xml::First(c, "Size").c_str(), nullptr, 10),
         xml::ParseTime(xml::First(c, "LastModified"))});
  }
  if (xml::First(r->body, "IsTruncated") == "true") {
    page.next_continuation = xml::First(r->body, "NextContinuationToken");
  }
  return page;
}

absl::StatusOr<std::string> S3Client::CreateMultipartUpload(
    std::string_view key) {
  auto r = Run(
      Request{"POST", std::string(key), "uploads=", {}, std::nullopt, false});
  if (!r.ok()) return r.status();
  std::string id = xml::First(r->body, "UploadId");
  if (id.empty()) {
    return absl::UnavailableError(StrCat("s3 POST ", options_.bucket, "/", key,
                                         ": no UploadId in the answer"));
  }
  return id;
}

absl::StatusOr<std::string> S3Client::UploadPart(std::string_view key,
                                                 std::string_view upload_id,
                                                 int part_number,
                                                 std::string_view body) {
  auto r = Run(Request{
      "PUT", std::string(key),
      StrCat("partNumber=", part_number, "&uploadId=", EncodeQuery(upload_id)),
      body, std::nullopt, false});
  if (!r.ok()) return r.status();
  return std::move(r->etag);
}

absl::Status S3Client::CompleteMultipartUpload(
    std::string_view key, std::string_view upload_id,
    const std::vector<std::string>& etags) {
  std::string doc = "<CompleteMultipartUpload>";
  for (size_t i = 0; i < etags.size(); ++i) {
    doc += StrCat("<Part><PartNumber>", i + 1, "</PartNumber><ETag>\"",
                  xml::Escape(etags[i]), "\"</ETag></Part>");
  }
  doc += "</CompleteMultipartUpload>";
  auto r = Run(Request{"POST", std::string(key),
                       StrCat("uploadId=", EncodeQuery(upload_id)), doc,
                       std::nullopt, false});
  if (!r.ok()) return r.status();
  // S3 may answer 200 with an error document (a failure after the headers).
  if (r->body.find("<Error>") != std::string::npos) {
    return absl::UnavailableError(StrCat("s3 complete ", options_.bucket, "/",
                                         key, ": ", xml::First(r->body, "Code"),
                                         " ", xml::First(r->body, "Message")));
  }
  return absl::OkStatus();
}

absl::Status S3Client::AbortMultipartUpload(std::string_view key,
                                            std::string_view upload_id) {
  return Run(Request{"DELETE",
                     std::string(key),
                     StrCat("uploadId=", EncodeQuery(upload_id)),
                     {},
                     std::nullopt,
                     true})
      .status();
}

absl::StatusOr<std::vector<MultipartUploadInfo>> S3Client::ListMultipartUploads(
    std::string_view prefix) {
  auto r = Run(Request{"GET",
                       "",
                       StrCat("prefix=", EncodeQuery(prefix), "&uploads="),
                       {},
                       std::nullopt,
                       false});
  if (!r.ok()) return r.status();
  std::vector<MultipartUploadInfo> out;
  for (std::string_view u : xml::Elements(r->body, "Upload")) {
    out.push_back({xml::First(u, "Key"), xml::First(u, "UploadId"),
                   xml::ParseTime(xml::First(u, "Initiated"))});
  }
  return out;
}

absl::Status S3Client::UploadFile(std::string_view key, const std::string& path,
                                  size_t part_size) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InternalError(StrCat("cannot open ", path));
  std::string part(part_size, '\0');
  auto read_part = [&]() -> absl::StatusOr<std::string_view> {
    in.read(part.data(), static_cast<std::streamsize>(part.size()));
    if (in.bad()) return absl::InternalError(StrCat("cannot read ", path));
    return std::string_view(part.data(), static_cast<size_t>(in.gcount()));
  };
  auto first = read_part();
  if (!first.ok()) return first.status();
  if (first->size() < part_size) return Put(key, *first);
  auto id = CreateMultipartUpload(key);
  if (!id.ok()) return id.status();
  std::vector<std::string> etags;
  absl::Status s;
  for (std::string_view body = *first; !body.empty();) {
    auto etag = UploadPart(key, *id, static_cast<int>(etags.size()) + 1, body);
    if (!etag.ok()) {
      s = etag.status();
      break;
    }
    etags.push_back(*std::move(etag));
    auto next = read_part();
    if (!next.ok()) {
      s = next.status();
      break;
    }
    body = *next;
  }
  if (s.ok()) s = CompleteMultipartUpload(key, *id, etags);
  if (!s.ok()) (void)AbortMultipartUpload(key, *id);  // Best effort.
  return s;
}

}  // namespace loupe::storage::s3
