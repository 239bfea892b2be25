#include "session/output_growth.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>

namespace tether::session_detail {

namespace {

constexpr std::size_t huge_threshold = std::size_t{8} << 20;

void populate(char* data, std::size_t size) {
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = (reinterpret_cast<std::uintptr_t>(data) + page - 1) & ~(page - 1);
  const auto end = (reinterpret_cast<std::uintptr_t>(data) + size) & ~(page - 1);
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_WRITE);
}

}  // namespace

void reserve_output(std::string& kept, std::size_t needed) {
  if (needed <= kept.capacity()) return;
  if (needed < huge_threshold) {
    kept.reserve(std::max(needed, kept.capacity() * 2));
    return;
  }
  std::string bigger;
  bigger.reserve(std::max(needed, kept.capacity() * 2));  // nothing copied, nothing touched
  populate(bigger.data(), bigger.capacity());
  bigger.append(kept);
  kept.swap(bigger);
}

void append_output(std::string& kept, std::string_view bytes) {
  reserve_output(kept, kept.size() + bytes.size());
  kept.append(bytes);
}

}  // namespace tether::session_detail
