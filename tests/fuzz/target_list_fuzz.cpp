// libFuzzer target: the parsers of a fleet's user input — -H lists, hosts files, fleet targets,
// and the script splitter (with a completeness check that needs no shell).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "cli/script_reader.hpp"
#include "cli/target_list.hpp"
#include "fleet/target_spec.hpp"
#include "tether/error.hpp"

namespace {

void check_target(const std::string& spec) {
  tether::session_options options;
  try {
    tether::fleet_detail::apply_target(spec, options);
  } catch (const tether::error& failure) {
    if (failure.code() != tether::errc::invalid_argument) std::abort();
    return;
  }
  const int set = static_cast<int>(!options.target.empty()) +
                  static_cast<int>(!options.shell_argv.empty()) +
                  static_cast<int>(!options.shell_command.empty());
  if (set != 1) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  for (const auto& entry : tether::cli::parse_target_list(input)) {
    if (entry.empty() || entry.find(',') != std::string::npos) std::abort();
    check_target(entry);
  }
  std::string why;
  for (const auto& entry : tether::cli::parse_hosts_file(input, why)) {
    // A local shell's command line may have words ("local:bash --norc"); a host has none.
    const char* never = entry.starts_with("local:") ? "\n#" : " \t\n#";
    if (entry.empty() || entry.find_first_of(never) != std::string::npos) std::abort();
    check_target(entry);
  }
  std::size_t total = 0;
  const auto commands = tether::cli::split_script(
      input, [](const std::string& text) { return text.size() % 3 != 0; });
  for (const auto& command : commands) {
    if (command.find_first_not_of(" \t\r\n") == std::string::npos) std::abort();
    total += command.size();
  }
  if (total > input.size()) std::abort();
  return 0;
}
