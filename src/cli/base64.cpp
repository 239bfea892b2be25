#include "cli/base64.hpp"

#include <cstdint>

namespace tether::cli {

std::string base64_encode(std::string_view bytes) {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string encoded;
  encoded.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t group =
        static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16 |
        static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8 |
        static_cast<unsigned char>(bytes[i + 2]);
    encoded += alphabet[(group >> 18) & 63];
    encoded += alphabet[(group >> 12) & 63];
    encoded += alphabet[(group >> 6) & 63];
    encoded += alphabet[group & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t group = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (rest == 2)
      group |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    encoded += alphabet[(group >> 18) & 63];
    encoded += alphabet[(group >> 12) & 63];
    encoded += rest == 2 ? alphabet[(group >> 6) & 63] : '=';
    encoded += '=';
  }
  return encoded;
}

}  // namespace tether::cli
