#include "fleet/line_splitter.hpp"

namespace tether::fleet_detail {

namespace {
constexpr std::size_t max_line = 64 * 1024;
}  // namespace

void line_splitter::feed(std::string_view bytes, const sink& emit) {
  while (!bytes.empty()) {
    const auto end = bytes.find('\n');
    if (end == std::string_view::npos) {
      partial_.append(bytes);
      // A line without end (a binary stream) must not grow without bound: it comes in pieces.
      if (partial_.size() >= max_line) {
        emit(partial_);
        partial_.clear();
      }
      return;
    }
    const auto line = bytes.substr(0, end + 1);
    bytes.remove_prefix(end + 1);
    if (partial_.empty()) {
      emit(line);
    } else {
      partial_.append(line);
      emit(partial_);
      partial_.clear();
    }
  }
}

void line_splitter::flush(const sink& emit) {
  if (partial_.empty()) return;
  emit(partial_);
  partial_.clear();
}

}  // namespace tether::fleet_detail
