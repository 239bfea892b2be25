#include "protocol/marker_search.hpp"

#include <string.h>  // memmem

#include <cstdint>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace tether::protocol {

namespace {

std::size_t linear_search(std::string_view haystack, std::string_view needle) {
  const void* hit = ::memmem(haystack.data(), haystack.size(), needle.data(), needle.size());
  return hit == nullptr ? std::string_view::npos
                        : static_cast<std::size_t>(static_cast<const char*>(hit) - haystack.data());
}

// Looks for the needle (2 bytes or more) Filter::width positions at a time, where the filter
// says its first and last bytes both match, from `at`. Returns where it is, or npos with `at`
// left where the filter stopped: at the haystack's last whole block, or earlier once false
// candidates cost more comparisons than the bytes scanned (output built of the needle's ends),
// so that memmem takes the rest and the work stays linear.
template <class Filter>
std::size_t filtered_search(std::string_view haystack, std::string_view needle,
                            std::size_t& stopped_at) {
  std::size_t at = stopped_at;
  const char* bytes = haystack.data();
  const std::size_t last_offset = needle.size() - 1;
  const Filter filter(needle.front(), needle.back());
  std::size_t compared = 0;  // bytes compared at false candidates
  // Both loads of a block stay inside the haystack.
  const std::size_t end = haystack.size() - last_offset;
  for (; at + Filter::width <= end; at += Filter::width) {
    std::uint64_t mask = filter.candidates(bytes + at, last_offset);
    // A loop of its own without calls, so the filter's registers stay put.
    while (mask == 0 && at + 2 * Filter::width <= end) {
      at += Filter::width;
      mask = filter.candidates(bytes + at, last_offset);
    }
    for (; mask != 0; mask &= mask - 1) {
      const std::size_t position = at + static_cast<std::size_t>(__builtin_ctzll(mask));
      if (std::memcmp(bytes + position + 1, needle.data() + 1, needle.size() - 2) == 0) {
        return position;
      }
      compared += needle.size();
    }
    if (compared > at + 4096) break;
  }
  stopped_at = at;
  return std::string_view::npos;
}

#if defined(__x86_64__)

// SSE2, x86-64's baseline: 32 positions per block.
struct sse2_filter {
  static constexpr std::size_t width = 32;
  sse2_filter(char first_byte, char last_byte)
      : first(_mm_set1_epi8(first_byte)), last(_mm_set1_epi8(last_byte)) {}
  // Bit i set: the needle's first byte is at at[i] and its last at at[i + last_offset].
  std::uint64_t candidates(const char* at, std::size_t last_offset) const {
    const __m128i low = _mm_and_si128(_mm_cmpeq_epi8(load(at), first),
                                      _mm_cmpeq_epi8(load(at + last_offset), last));
    const __m128i high = _mm_and_si128(_mm_cmpeq_epi8(load(at + 16), first),
                                       _mm_cmpeq_epi8(load(at + 16 + last_offset), last));
    return static_cast<std::uint32_t>(_mm_movemask_epi8(low)) |
           (static_cast<std::uint64_t>(static_cast<std::uint32_t>(_mm_movemask_epi8(high))) << 16);
  }
  static __m128i load(const char* p) {
    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  }
  __m128i first, last;
};

// AVX2: 64 positions per block, twice SSE2's rate on output that is already in cache, which
// is where a read just left it (one CPU, 256 MiB capture: the search was 11% of the time).
struct avx2_filter {
  static constexpr std::size_t width = 64;
  [[gnu::target("avx2")]] avx2_filter(char first_byte, char last_byte)
      : first(_mm256_set1_epi8(first_byte)), last(_mm256_set1_epi8(last_byte)) {}
  [[gnu::target("avx2")]] std::uint64_t candidates(const char* at, std::size_t last_offset) const {
    // (no helper for the loads: a function without the avx2 target cannot be inlined here)
    const __m256i low = _mm256_and_si256(
        _mm256_cmpeq_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(at)), first),
        _mm256_cmpeq_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(at + last_offset)),
                          last));
    const __m256i high = _mm256_and_si256(
        _mm256_cmpeq_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(at + 32)), first),
        _mm256_cmpeq_epi8(
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(at + 32 + last_offset)), last));
    return static_cast<std::uint32_t>(_mm256_movemask_epi8(low)) |
           (static_cast<std::uint64_t>(static_cast<std::uint32_t>(_mm256_movemask_epi8(high)))
            << 32);
  }
  __m256i first, last;
};

std::size_t sse2_search(std::string_view haystack, std::string_view needle, std::size_t& at) {
  return filtered_search<sse2_filter>(haystack, needle, at);
}

// flatten: the filter's AVX2 code can only be inlined into a function compiled for AVX2.
[[gnu::target("avx2"), gnu::flatten]] std::size_t avx2_search(std::string_view haystack,
                                                              std::string_view needle,
                                                              std::size_t& at) {
  return filtered_search<avx2_filter>(haystack, needle, at);
}

#endif

}  // namespace

std::span<const marker_scan> available_marker_scans() {
#if defined(__x86_64__)
  static constexpr marker_scan with_avx2[] = {marker_scan::avx2, marker_scan::sse2,
                                              marker_scan::memmem};
  static constexpr marker_scan without_avx2[] = {marker_scan::sse2, marker_scan::memmem};
  // (checks that the kernel saves the AVX registers too, not just the CPU's flag)
  static const bool has_avx2 = __builtin_cpu_supports("avx2");
  return has_avx2 ? std::span<const marker_scan>(with_avx2)
                  : std::span<const marker_scan>(without_avx2);
#else
  static constexpr marker_scan only[] = {marker_scan::memmem};
  return only;
#endif
}

marker_scan default_marker_scan() {
  static const marker_scan best = available_marker_scans().front();
  return best;
}

std::size_t find_marker(std::string_view haystack, std::string_view needle) {
  return find_marker(haystack, needle, default_marker_scan());
}

std::size_t find_marker(std::string_view haystack, std::string_view needle, marker_scan scan) {
  if (needle.empty()) return 0;
  if (haystack.size() < needle.size()) return std::string_view::npos;
  std::size_t at = 0;
#if defined(__x86_64__)
  if (needle.size() >= 2 && scan != marker_scan::memmem) {
    // AVX2 asked of a CPU without it would die of SIGILL: SSE2 instead.
    const bool avx2 = scan == marker_scan::avx2 && default_marker_scan() == marker_scan::avx2;
    const std::size_t found =
        avx2 ? avx2_search(haystack, needle, at) : sse2_search(haystack, needle, at);
    if (found != std::string_view::npos) return found;
  }
#endif
  const std::size_t found = linear_search(haystack.substr(at), needle);
  return found == std::string_view::npos ? found : at + found;
}

}  // namespace tether::protocol
