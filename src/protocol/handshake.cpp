#include "protocol/handshake.hpp"

#include <algorithm>
#include <charconv>

namespace tether::protocol {

shell_facts read_handshake(std::string_view output) {
  while (!output.empty() && output.back() == '\n') output.remove_suffix(1);
  if (const auto newline = output.rfind('\n'); newline != std::string_view::npos) {
    output.remove_prefix(newline + 1);
  }
  shell_facts facts;
  std::string_view pid = output.substr(0, output.find(' '));
  const std::string_view rest = pid.size() < output.size() ? output.substr(pid.size() + 1) : "";
  if (pid.empty() || pid.size() > 9 ||
      !std::all_of(pid.begin(), pid.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return facts;
  }
  std::from_chars(pid.data(), pid.data() + pid.size(), facts.pid);
  facts.bash = rest == "bash";
  return facts;
}

}  // namespace tether::protocol
