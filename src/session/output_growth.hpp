#pragma once

#include <string>
#include <string_view>

namespace tether::session_detail {

/// Append command output to `kept`, growing big buffers the cheap way. Doubling a std::string
/// faults in every page of each new block again, one fault per 4 KiB: for a 256 MiB output
/// that was most of the capture time (134k faults). Blocks of 8 MiB and up are therefore
/// allocated empty and populated in one madvise(MADV_POPULATE_WRITE) call (Linux 5.14; a
/// no-op error before), then filled: 4.6k faults, 0.86 -> 1.08 GB/s. MADV_HUGEPAGE was faster
/// on some runs but stalled others for 0.5 s on memory compaction (defrag=madvise).
void append_output(std::string& kept, std::string_view bytes);

/// Make room for `needed` bytes in `kept` (content kept), growing as append_output does.
void reserve_output(std::string& kept, std::size_t needed);

}  // namespace tether::session_detail
