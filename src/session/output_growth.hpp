#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace tether::session_detail {

/// A std::string that command output is appended to, grown the cheap way for big outputs.
///
/// Growing a std::string faults in every 4 KiB page of each new block one at a time: for a
/// 256 MiB output that was most of the capture time (134k faults). Past 8 MiB, pages are
/// instead populated ahead of the writes, 2 MiB per madvise(MADV_POPULATE_WRITE) call (Linux
/// 5.14; a harmless no-op before), and only as far as output actually goes: populating whole
/// doubled blocks zero-filled twice the output. MADV_HUGEPAGE was tried: faster on some runs,
/// but it stalled others for 0.5 s on memory compaction (defrag=madvise).
class output_growth {
 public:
  /// Make room in `kept` for `needed` bytes in all (content kept), populated.
  void reserve(std::string& kept, std::size_t needed);
  /// Append `bytes` to `kept`.
  void append(std::string& kept, std::string_view bytes) {
    reserve(kept, kept.size() + bytes.size());
    kept.append(bytes);
  }

 private:
  const char* block_ = nullptr;  // the buffer `populated_` refers to
  std::size_t populated_ = 0;    // bytes from its start known to be populated
};

}  // namespace tether::session_detail
