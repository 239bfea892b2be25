#include "session/output_growth.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>

namespace tether::session_detail {

namespace {

constexpr std::size_t big_output = std::size_t{8} << 20;
constexpr std::size_t populate_step = std::size_t{2} << 20;

void populate(char* data, std::size_t begin_offset, std::size_t end_offset) {
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto start = reinterpret_cast<std::uintptr_t>(data);
  const auto begin = (start + begin_offset) & ~(page - 1);
  const auto end = (start + end_offset + page - 1) & ~(page - 1);
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_WRITE);
}

}  // namespace

void output_growth::reserve(std::string& kept, std::size_t needed) {
  if (needed > kept.capacity()) {
    if (needed < big_output) {
      kept.reserve(std::max(needed, kept.capacity() * 2));
      return;
    }
    // Every growth copies what is kept into fresh pages (std::string cannot mremap as realloc
    // does), and populating those pages costs more than the copy. Growing 8× (10 -> 76 -> 612
    // MiB) copies ~90 MiB on the way to a 256 MiB output where 4× copied ~200 MiB: a 256 MiB
    // capture on one CPU went from ~930 to ~1100 MB/s. Capacity beyond what is written is never
    // populated, so it costs address space, not memory; past 256 MiB, 2× keeps huge outputs
    // clear of the kernel's overcommit heuristic.
    const std::size_t factor = kept.capacity() < (std::size_t{256} << 20) ? 8 : 2;
    std::string bigger;
    bigger.reserve(std::max(needed, kept.capacity() * factor));  // nothing copied or touched
    populate(bigger.data(), 0, kept.size());                     // where the copy goes
    bigger.append(kept);
    kept.swap(bigger);
    block_ = kept.data();
    populated_ = kept.size();
  }
  if (needed < big_output) return;
  if (block_ != kept.data()) {  // a block we did not allocate: assume what is written is there
    block_ = kept.data();
    populated_ = kept.size();
  }
  if (needed > populated_) {
    const std::size_t upto =
        std::min(kept.capacity(), std::max(needed, populated_ + populate_step));
    populate(kept.data(), populated_, upto);
    populated_ = upto;
  }
}

}  // namespace tether::session_detail
