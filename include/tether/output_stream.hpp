#pragma once

#include <cstdint>

namespace tether {

/// Which of a command's two output streams a chunk of bytes came from.
enum class output_stream : std::uint8_t { out, err };

}  // namespace tether
