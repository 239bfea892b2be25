#pragma once

#include <string>
#include <string_view>

namespace tether::cli {

/// Standard base64 (RFC 4648, with padding), for output that JSON strings cannot carry.
std::string base64_encode(std::string_view bytes);

}  // namespace tether::cli
