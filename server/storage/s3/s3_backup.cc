// WriteBucketManifest (s3_assets.h): the bucket's half of a backup.

#include <fstream>
#include <set>

#include "base/str_cat.h"
#include "server/storage/s3/s3_assets.h"

namespace loupe::storage::s3 {
namespace {

constexpr size_t kPage = 500;

struct Manifest {
  std::ofstream out;
  std::set<std::string> seen;
  std::vector<std::string> problems;
  uint64_t objects = 0;
  uint64_t bytes = 0;
};

// One asset a version cites: recorded in the manifest if the bucket keeps
// it, after checking its object and sums are there at the right size.
absl::Status Cite(S3Client* client, Store& records, const v1::AssetRef& ref,
                  const std::string& where, Manifest* m) {
  if (!m->seen.insert(ref.sha256()).second) return absl::OkStatus();
  auto sha = crypto::ParseSha256Hex(ref.sha256());
  if (!sha.ok()) return absl::OkStatus();  // Scrub names malformed records.
  auto local = records.OpenAsset(*sha);
  if (!IsExternalAsset(local.status())) return absl::OkStatus();
  const std::string name = StrCat("asset ", ref.sha256(), " (", where, ")");
  auto head = client->Head(ObjectKey(*sha));
  if (absl::IsNotFound(head.status())) {
    m->problems.push_back(StrCat(name, ": its object ", ObjectKey(*sha),
                                 " is missing from the bucket"));
    return absl::OkStatus();
  }
  if (!head.ok()) return head.status();
  if (head->size != ref.size_bytes()) {
    m->problems.push_back(StrCat(name, ": the bucket's object has ", head->size,
                                 " bytes, the version says ",
                                 ref.size_bytes()));
    return absl::OkStatus();
  }
  auto sums = client->Head(SumsKey(*sha));
  if (absl::IsNotFound(sums.status())) {
    m->problems.push_back(StrCat(name, ": its chunk digests ", SumsKey(*sha),
                                 " are missing from the bucket"));
    return absl::OkStatus();
  }
  if (!sums.ok()) return sums.status();
  m->out << ref.sha256() << '\t' << head->size << '\t' << ObjectKey(*sha)
         << '\t' << SumsKey(*sha) << '\n';
  ++m->objects;
  m->bytes += head->size;
  return absl::OkStatus();
}

absl::Status CiteVersions(S3Client* client, Store& records,
                          const v1::Piece& piece, Manifest* m) {
  uint32_t after = 0;
  for (;;) {
    auto page = records.ListVersions(piece.id(), after, kPage);
    if (!page.ok()) return page.status();
    for (const auto& v : page->versions) {
      const std::string where =
          StrCat("piece ", piece.id(), " version ", v.number());
      for (const auto& ref : v.assets()) {
        if (auto s = Cite(client, records, ref, where, m); !s.ok()) return s;
      }
    }
    if (!page->last_number) return absl::OkStatus();
    after = *page->last_number;
  }
}

}  // namespace

absl::StatusOr<BucketManifest> WriteBucketManifest(
    S3Client* client, Store& records, const std::string& directory) {
  Manifest m;
  const std::string path = StrCat(directory, "/bucket-manifest.tsv");
  m.out.open(path);
  if (!m.out) {
    return absl::InternalError(StrCat("backup: cannot write ", path));
  }
  m.out << "# objects in bucket " << client->options().bucket << " at "
        << client->options().endpoint
        << " that this backup's versions cite (keep the bucket versioned)\n"
        << "# sha256\tsize_bytes\tobject\tchunk_digests\n";
  std::string after;
  for (;;) {
    auto page = records.ListPieces("", after, kPage);
    if (!page.ok()) return page.status();
    for (const auto& piece : page->pieces) {
      if (auto s = CiteVersions(client, records, piece, &m); !s.ok()) return s;
    }
    if (!page->last_key) break;
    after = *page->last_key;
  }
  m.out.close();
  if (!m.out) return absl::InternalError(StrCat("backup: cannot write ", path));
  if (!m.problems.empty()) {
    return absl::DataLossError(
        StrCat(m.problems.size(),
               " object(s) this backup's versions cite are not whole in the "
               "bucket; the first: ",
               m.problems.front()));
  }
  return BucketManifest{m.objects, m.bytes};
}

}  // namespace loupe::storage::s3
