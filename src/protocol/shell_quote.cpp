#include <algorithm>

#include "tether/error.hpp"
#include "tether/quote.hpp"

namespace tether {

namespace {

bool is_safe(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.' || c == '/' || c == ',' || c == ':' || c == '@' || c == '+' ||
         c == '%';
}

template <typename Words>
std::string join(const Words& words) {
  std::string line;
  bool first = true;
  for (const auto& word : words) {
    if (!first) line += ' ';
    first = false;
    line += shell_quote(word);
  }
  return line;
}

}  // namespace

std::string shell_quote(std::string_view word) {
  if (word.find('\0') != std::string_view::npos) {
    throw error(errc::invalid_argument,
                "a shell word cannot contain a NUL byte; pass binary data as stdin_data");
  }
  if (!word.empty() && std::all_of(word.begin(), word.end(), is_safe)) return std::string(word);
  std::string quoted = "'";
  for (char c : word) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  quoted += '\'';
  return quoted;
}

std::string shell_join(std::span<const std::string> words) {
  return join(words);
}
std::string shell_join(std::initializer_list<std::string_view> words) {
  return join(words);
}

}  // namespace tether
