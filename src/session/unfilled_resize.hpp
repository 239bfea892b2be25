#pragma once

#include <cstddef>
#include <string>

namespace tether::session_detail {

/// Makes `text` `size` bytes long; bytes past its old size are left as they are in memory,
/// not zero-filled, and must be written before they are read.
///
/// Output is read straight into the result string: a 1 MiB region is lent to each read, and
/// zero-filling it first was ~5% of a 256 MiB capture on one CPU (the floor's realloc'd buffer
/// is never filled). Uses C++23's resize_and_overwrite where the library has it: this one file
/// is compiled as C++23 for that (src/CMakeLists.txt checks); std::string's layout is the same
/// either way. Elsewhere it zero-fills, as resize() does. Strictly, resize_and_overwrite wants
/// the bytes it keeps written by the callback; they are written by the reads right after, and
/// what no read wrote is cut off before the string is used (command_run::settle).
void unfilled_resize(std::string& text, std::size_t size);

}  // namespace tether::session_detail
