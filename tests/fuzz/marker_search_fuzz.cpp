// libFuzzer target: the marker search, with each scan this CPU has, against
// std::string_view::find. The first input byte gives the needle's length; the needle is taken
// from the start of the rest, and searched for in the rest from an offset (second byte), so it
// occurs at least at its own place when the offset is 0, often elsewhere too, or nowhere.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "protocol/marker_search.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 2, size - 2);
  const std::size_t needle_size = std::min<std::size_t>(data[0] % 48, rest.size());
  const std::string_view needle = rest.substr(0, needle_size);
  const std::string_view haystack = rest.substr(std::min<std::size_t>(data[1] % 4, rest.size()));
  for (const auto scan : tether::protocol::available_marker_scans()) {
    if (tether::protocol::find_marker(haystack, needle, scan) != haystack.find(needle))
      std::abort();
  }
  return 0;
}
