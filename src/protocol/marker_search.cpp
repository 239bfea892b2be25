#include "protocol/marker_search.hpp"

#include <string.h>  // memmem

#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace tether::protocol {

namespace {

std::size_t linear_search(std::string_view haystack, std::string_view needle) {
  const void* hit = ::memmem(haystack.data(), haystack.size(), needle.data(), needle.size());
  return hit == nullptr ? std::string_view::npos
                        : static_cast<std::size_t>(static_cast<const char*>(hit) - haystack.data());
}

#if defined(__SSE2__)

constexpr std::size_t block = 32;

// A mask of the positions among the 32 from `at` where the needle's first and last bytes match.
std::uint32_t candidates(const char* at, std::size_t last_offset, __m128i first, __m128i last) {
  const auto load = [](const char* p) {
    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  };
  const __m128i low =
      _mm_and_si128(_mm_cmpeq_epi8(load(at), first), _mm_cmpeq_epi8(load(at + last_offset), last));
  const __m128i high = _mm_and_si128(_mm_cmpeq_epi8(load(at + 16), first),
                                     _mm_cmpeq_epi8(load(at + 16 + last_offset), last));
  return static_cast<std::uint32_t>(_mm_movemask_epi8(low)) |
         (static_cast<std::uint32_t>(_mm_movemask_epi8(high)) << 16);
}

#endif

}  // namespace

std::size_t find_marker(std::string_view haystack, std::string_view needle) {
  if (needle.empty()) return 0;
  if (haystack.size() < needle.size()) return std::string_view::npos;
  std::size_t at = 0;
#if defined(__SSE2__)
  if (needle.size() >= 2) {
    const char* bytes = haystack.data();
    const std::size_t last_offset = needle.size() - 1;
    const __m128i first = _mm_set1_epi8(needle.front());
    const __m128i last = _mm_set1_epi8(needle.back());
    std::size_t compared = 0;  // bytes compared at false candidates
    // Both loads of a block stay inside the haystack; memmem takes what is left.
    for (; at + last_offset + block <= haystack.size(); at += block) {
      for (std::uint32_t mask = candidates(bytes + at, last_offset, first, last); mask != 0;
           mask &= mask - 1) {
        const std::size_t position = at + static_cast<std::size_t>(__builtin_ctz(mask));
        if (std::memcmp(bytes + position + 1, needle.data() + 1, needle.size() - 2) == 0) {
          return position;
        }
        compared += needle.size();
      }
      // More bytes compared at false candidates than scanned, past a start allowance: output
      // built of the needle's ends. memmem takes over, so the work stays linear.
      if (compared > at + 4096) break;
    }
  }
#endif
  const std::size_t found = linear_search(haystack.substr(at), needle);
  return found == std::string_view::npos ? found : at + found;
}

}  // namespace tether::protocol
