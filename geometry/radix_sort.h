#pragma once

// Least-significant-digit radix sort of 64-bit keys on a range of their
// bits, for the large sorts of geometry processing (Morton codes, edge
// keys, quantized corners), where std::sort's comparisons dominate.
// Stable; linear in the number of keys times the bits sorted on.

#include <array>
#include <cstdint>
#include <vector>

namespace loupe::geometry {

// Sorts `keys` by bits [low_bit, high_bit) (other bits ride along, and
// keys equal on those bits keep their order). `scratch` is resized and
// overwritten.
inline void RadixSort(std::vector<uint64_t>* keys, int low_bit, int high_bit,
                      std::vector<uint64_t>* scratch) {
  constexpr int kDigitBits = 11;
  constexpr size_t kBuckets = size_t{1} << kDigitBits;
  scratch->resize(keys->size());
  std::vector<uint64_t>* from = keys;
  std::vector<uint64_t>* to = scratch;
  for (int shift = low_bit; shift < high_bit; shift += kDigitBits) {
    const int bits = std::min(kDigitBits, high_bit - shift);
    const uint64_t mask = (uint64_t{1} << bits) - 1;
    std::array<size_t, kBuckets> count{};
    for (uint64_t k : *from) ++count[(k >> shift) & mask];
    size_t sum = 0;
    for (size_t& c : count) {
      const size_t n = c;
      c = sum;
      sum += n;
    }
    uint64_t* out = to->data();
    for (uint64_t k : *from) out[count[(k >> shift) & mask]++] = k;
    std::swap(from, to);
  }
  if (from != keys) keys->swap(*from);
}

inline void RadixSort(std::vector<uint64_t>* keys, int low_bit, int high_bit) {
  std::vector<uint64_t> scratch;
  RadixSort(keys, low_bit, high_bit, &scratch);
}

}  // namespace loupe::geometry
