#include "session/unfilled_resize.hpp"

namespace tether::session_detail {

void unfilled_resize(std::string& text, std::size_t size) {
#if defined(__cpp_lib_string_resize_and_overwrite)
  text.resize_and_overwrite(size, [](char*, std::size_t kept) { return kept; });
#else
  text.resize(size);
#endif
}

}  // namespace tether::session_detail
