#include "session/output_growth.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <new>

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

// Under strict overcommit (vm.overcommit_memory = 2) capacity is charged in full against the
// commit limit, populated or not: reserving ahead there would take memory from everyone else.
bool reserving_ahead_is_free() {
  static const bool free = [] {
    std::ifstream setting("/proc/sys/vm/overcommit_memory");
    int mode = 0;
    return !(setting >> mode) || mode != 2;
  }();
  return free;
}

}  // namespace

void output_growth::reserve(std::string& kept, std::size_t needed) {
  if (needed > kept.capacity()) {
    if (needed < big_output) {
      kept.reserve(std::max(needed, kept.capacity() * 2));
      return;
    }
    // Every growth copies what is kept into fresh pages (std::string cannot mremap as realloc
    // does), and populating those pages costs more than the copy. So the first growth past
    // 8 MiB goes straight to 512 MiB: capacity beyond what is written is never populated, so it
    // costs address space, not memory, and a 256 MiB capture copies ~10 MiB on its way (growing
    // 8x copied ~90 MiB, 4x ~200 MiB): ~1050 -> ~1300 MB/s on one CPU. Past that, 2x keeps huge
    // outputs clear of the kernel's overcommit heuristic. Under strict overcommit it only doubles,
    // and where address space is short (RLIMIT_AS) it falls back to doubling rather than failing.
    constexpr std::size_t first_big_capacity = std::size_t{512} << 20;
    std::string bigger;  // reserved empty: nothing copied or touched yet
    try {
      const std::size_t ahead = reserving_ahead_is_free() ? first_big_capacity : 0;
      bigger.reserve(std::max(needed, std::max(ahead, kept.capacity() * 2)));
    } catch (const std::bad_alloc&) {
      bigger.reserve(std::max(needed, kept.capacity() * 2));
    }
    populate(bigger.data(), 0, kept.size());  // where the copy goes
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
