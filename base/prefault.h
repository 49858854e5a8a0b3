#pragma once

// Fresh buffers of tens of megabytes (a large mesh, its sort buffers) cost
// nearly as much in page faults as in the work done on them. Two hints to
// the kernel, for buffers not yet touched:
// - AdviseHugePages: back the buffer with 2 MB pages where the system
//   offers them on request (transparent huge pages in "madvise" mode), one
//   fault for 512 pages; it pays most for buffers written out of order.
// - Prefault: back it with memory now, in one call, instead of one fault
//   per page as it is first written (with huge pages where offered).
// Only hints: where the kernel cannot (not Linux, huge pages off,
// MADV_POPULATE_WRITE before Linux 5.14), nothing happens and the pages
// fault in as usual. Thread-safe; the buffers stay the caller's.

#include <cstddef>
#include <cstdint>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace loupe {

// Buffers smaller than this are left alone: a hint costs a system call.
inline constexpr size_t kHintFromBytes = size_t{1} << 20;

#if defined(__linux__)
// madvise(advice) over the whole `page`-byte pages inside
// [data, data + bytes), if there are any; errors are ignored (a hint).
inline void AdviseWholePages(void* data, size_t bytes, uintptr_t page,
                             int advice) {
  const uintptr_t begin =
      (reinterpret_cast<uintptr_t>(data) + page - 1) & ~(page - 1);
  const uintptr_t end =
      (reinterpret_cast<uintptr_t>(data) + bytes) & ~(page - 1);
  if (end > begin) {
    (void)::madvise(reinterpret_cast<void*>(begin), end - begin, advice);
  }
}
#endif

// Advises huge pages for the whole 2 MB pages inside [data, data + bytes)
// (a buffer under 4 MB may hold none).
inline void AdviseHugePages(void* data, size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  AdviseWholePages(data, bytes, uintptr_t{2} << 20, MADV_HUGEPAGE);
#else
  (void)data;
  (void)bytes;
#endif
}

inline void Prefault(void* data, size_t bytes) {
  AdviseHugePages(data, bytes);
#if defined(__linux__)
  constexpr int kPopulateWrite = 23;  // MADV_POPULATE_WRITE, Linux 5.14.
  AdviseWholePages(data, bytes, 4096, kPopulateWrite);
#endif
}

// Reserves room for `n` elements in `v`, prefaulted when that is a
// megabyte or more.
template <typename T>
void ReservePrefaulted(std::vector<T>* v, size_t n) {
  v->reserve(n);
  if (n * sizeof(T) >= kHintFromBytes) Prefault(v->data(), n * sizeof(T));
}

// Resizes an empty `v` to `n` value-initialised elements, on huge pages
// where offered when that is a megabyte or more: for a large buffer then
// written or read out of order.
template <typename T>
void ResizeOnHugePages(std::vector<T>* v, size_t n) {
  v->reserve(n);
  if (n * sizeof(T) >= kHintFromBytes)
    AdviseHugePages(v->data(), n * sizeof(T));
  v->resize(n);
}

}  // namespace loupe
