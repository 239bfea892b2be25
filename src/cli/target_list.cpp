#include "cli/target_list.hpp"

namespace tether::cli {

namespace {

std::string_view trimmed(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\r");
  return text.substr(first, last - first + 1);
}

}  // namespace

std::vector<std::string> parse_target_list(std::string_view list) {
  std::vector<std::string> targets;
  while (!list.empty()) {
    const auto comma = list.find(',');
    const auto entry = trimmed(list.substr(0, comma));
    if (!entry.empty()) targets.emplace_back(entry);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return targets;
}

std::vector<std::string> parse_hosts_file(std::string_view content, std::string& why) {
  std::vector<std::string> targets;
  std::size_t number = 0;
  while (!content.empty()) {
    const auto end = content.find('\n');
    std::string_view line = content.substr(0, end);
    content.remove_prefix(end == std::string_view::npos ? content.size() : end + 1);
    ++number;
    if (const auto hash = line.find('#'); hash != std::string_view::npos)
      line = line.substr(0, hash);
    line = trimmed(line);
    if (line.empty()) continue;
    // A local shell command line has words of its own ("local:bash --norc"), as in -H.
    if (!line.starts_with("local:") && line.find_first_of(" \t") != std::string_view::npos) {
      why = "line " + std::to_string(number) + ": one target per line, found '" +
            std::string(line) + "'";
      return {};
    }
    targets.emplace_back(line);
  }
  return targets;
}

}  // namespace tether::cli
