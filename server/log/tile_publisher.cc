#include "server/log/tile_publisher.h"

#include <charconv>
#include <iostream>
#include <utility>

#include "base/str_cat.h"
#include "server/http/tiles.h"

namespace loupe::server {
namespace {

using http::kTileWidth;
constexpr int kMaxLevel = 7;  // 256^8 leaves would be 2^64.

// Origin and size of a checkpoint note; nullopt if it is not one.
std::optional<std::pair<std::string, uint64_t>> OriginAndSize(
    std::string_view note) {
  const size_t a = note.find('\n');
  if (a == std::string_view::npos) return std::nullopt;
  const size_t b = note.find('\n', a + 1);
  if (b == std::string_view::npos) return std::nullopt;
  uint64_t size = 0;
  const std::string_view digits = note.substr(a + 1, b - a - 1);
  const auto [end, ec] =
      std::from_chars(digits.data(), digits.data() + digits.size(), size);
  if (ec != std::errc() || end != digits.data() + digits.size()) {
    return std::nullopt;
  }
  return std::pair(std::string(note.substr(0, a)), size);
}

std::string OriginOf(std::string_view note) {
  return std::string(note.substr(0, note.find('\n')));
}

}  // namespace

TilePublisher::TilePublisher(storage::LogReader* log,
                             CheckpointSource checkpoint, ObjectSink* sink,
                             Options options, std::function<bool()> leading)
    : log_(log),
      checkpoint_(std::move(checkpoint)),
      sink_(sink),
      options_(options),
      leading_(std::move(leading)) {}

TilePublisher::~TilePublisher() { Stop(); }

void TilePublisher::Start() {
  thread_ = std::thread([this] { Run(); });
}

void TilePublisher::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  // What the last checkpoint added, if it is little: a restart catches up
  // on the rest.
  for (int i = 0; i < 4; ++i) {
    auto done = Round();
    if (!done.ok() || *done) break;
  }
}

void TilePublisher::Run() {
  std::unique_lock lock(mu_);
  auto backoff = options_.interval;
  std::string last_error;
  while (!stopping_) {
    lock.unlock();
    auto done = Round();
    lock.lock();
    if (!done.ok()) {
      if (std::string(done.status().message()) != last_error) {
        last_error = std::string(done.status().message());
        std::cerr << "loupe-server: WARNING: static log tiles ("
                  << sink_->Describe() << "): " << done.status()
                  << " (retrying)\n";
      }
      wake_.wait_for(lock, backoff, [&] { return stopping_; });
      backoff = std::min<std::chrono::milliseconds>(2 * backoff,
                                                    std::chrono::seconds(30));
      continue;
    }
    backoff = options_.interval;
    last_error.clear();
    // Caught up: wait for the next checkpoint. Behind: the next bounded
    // round at once (the lock was released in between).
    if (*done)
      wake_.wait_for(lock, options_.interval, [&] { return stopping_; });
  }
}

absl::Status TilePublisher::Resume(uint64_t log_size) {
  auto text = sink_->Get("checkpoint");
  if (absl::IsNotFound(text.status())) return absl::OkStatus();
  if (!text.ok()) return text.status();
  auto parsed = OriginAndSize(*text);
  auto ours = checkpoint_();
  if (!ours.ok()) return ours.status();
  if (!parsed || parsed->first != OriginOf(ours->note()) ||
      parsed->second > log_size) {
    std::cerr << "loupe-server: WARNING: the checkpoint in "
              << sink_->Describe()
              << " is not one of this log's; publishing every tile again\n";
    return absl::OkStatus();
  }
  written_ = parsed->second / kTileWidth * kTileWidth;
  published_size_ = parsed->second;
  published_note_ = *std::move(text);
  return absl::OkStatus();
}

absl::StatusOr<bool> TilePublisher::Round() {
  std::lock_guard lock(round_mu_);
  if (leading_ && !leading_()) return true;
  auto checkpoint = checkpoint_();
  if (!checkpoint.ok()) return checkpoint.status();
  const uint64_t size = checkpoint->tree_size();
  if (!resumed_) {
    if (auto s = Resume(size); !s.ok()) return s;
    resumed_ = true;
  }
  if (checkpoint->note() == published_note_) return true;
  budget_ = options_.max_objects_per_round;
  while (written_ + kTileWidth <= size && budget_ > 0) {
    if (auto s = WriteFullChunk(written_ / kTileWidth); !s.ok()) return s;
    written_ += kTileWidth;
  }
  if (written_ + kTileWidth <= size) return false;  // Next round.
  if (auto s = WritePartials(size); !s.ok()) return s;
  std::string roots = "{\"roots\":[";
  const auto& chain =
      options_.trust_roots.empty()
          ? std::vector<std::string>(checkpoint->root_chain().begin(),
                                     checkpoint->root_chain().end())
          : options_.trust_roots;
  for (size_t i = 0; i < chain.size(); ++i) {
    if (i > 0) roots += ",";
    roots += chain[i];
  }
  roots += "]}\n";
  const ObjectCaching brief{
      .max_age_seconds = options_.checkpoint_max_age_seconds,
      .content_type = "application/json"};
  if (roots != published_roots_) {
    if (auto s = Put("trust-root.json", roots, brief); !s.ok()) return s;
    published_roots_ = roots;
  }
  // Last: a reader who sees this checkpoint finds every tile it needs.
  ObjectCaching note = brief;
  note.content_type = "text/plain; charset=utf-8";
  if (auto s = Put("checkpoint", checkpoint->note(), note); !s.ok()) return s;
  published_note_ = checkpoint->note();
  published_size_ = size;
  return true;
}

absl::Status TilePublisher::WriteFullChunk(uint64_t chunk) {
  if (auto s = WriteEntries(chunk, kTileWidth); !s.ok()) return s;
  if (auto s = WriteHashTile(0, chunk, kTileWidth); !s.ok()) return s;
  // Leaves up to (chunk + 1) * 256 complete the level-L tile that ends
  // there when (chunk + 1) is a multiple of 256^L.
  const uint64_t chunks = chunk + 1;
  for (int level = 1; level <= kMaxLevel; ++level) {
    const uint64_t span = uint64_t{1} << (8 * level);
    if (chunks % span != 0) break;
    if (auto s = WriteHashTile(level, chunks / span - 1, kTileWidth); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status TilePublisher::WritePartials(uint64_t size) {
  if (const int w = static_cast<int>(size % kTileWidth); w > 0) {
    if (auto s = WriteEntries(size / kTileWidth, w); !s.ok()) return s;
  }
  for (int level = 0; level <= kMaxLevel; ++level) {
    const uint64_t nodes = size >> (8 * level);
    if (nodes == 0) break;
    if (const int w = static_cast<int>(nodes % kTileWidth); w > 0) {
      if (auto s = WriteHashTile(level, nodes / kTileWidth, w); !s.ok()) {
        return s;
      }
    }
  }
  return absl::OkStatus();
}

absl::Status TilePublisher::WriteEntries(uint64_t index, int width) {
  auto entries =
      log_->LogEntries(index * kTileWidth, static_cast<size_t>(width));
  if (!entries.ok()) return entries.status();
  const http::TilePath tile{.entries = true, .index = index, .width = width};
  if (entries->size() != static_cast<size_t>(width)) {
    return absl::DataLossError(StrCat("tile/", http::TilePathString(tile),
                                      ": the log returned ", entries->size(),
                                      " entries, not ", width));
  }
  auto bundle = http::EntryBundle(*entries);
  if (!bundle.ok()) return bundle.status();
  return Put(StrCat("tile/", http::TilePathString(tile)), *bundle,
             {.immutable = tile.full(),
              .max_age_seconds = options_.partial_max_age_seconds});
}

absl::Status TilePublisher::WriteHashTile(int level, uint64_t index,
                                          int width) {
  auto hashes = log_->LogNodeHashes(8 * level, index * kTileWidth, width);
  if (!hashes.ok()) return hashes.status();
  std::string body;
  body.reserve(hashes->size() * 32);
  for (const auto& h : *hashes) body.append(h.begin(), h.end());
  const http::TilePath tile{.level = level, .index = index, .width = width};
  return Put(StrCat("tile/", http::TilePathString(tile)), body,
             {.immutable = tile.full(),
              .max_age_seconds = options_.partial_max_age_seconds});
}

absl::Status TilePublisher::Put(const std::string& key, std::string_view bytes,
                                const ObjectCaching& caching) {
  if (auto s = sink_->Put(key, bytes, caching); !s.ok()) {
    return absl::Status(s.code(), StrCat(key, ": ", s.message()));
  }
  ++objects_;
  if (budget_ > 0) --budget_;
  return absl::OkStatus();
}

}  // namespace loupe::server
