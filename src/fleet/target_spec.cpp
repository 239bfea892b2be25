#include "fleet/target_spec.hpp"

#include "tether/error.hpp"
#include "transport/ssh_target.hpp"

namespace tether::fleet_detail {

void apply_target(std::string_view spec, session_options& options) {
  options.target.clear();
  options.shell_argv.clear();
  options.shell_command.clear();
  const std::string text(spec);
  if (text.empty()) throw error(errc::invalid_argument, "an empty target");
  if (text == "local") {
    options.shell_argv = {"/bin/sh"};
    return;
  }
  if (text.starts_with("local:")) {
    options.shell_command = text.substr(6);
    if (options.shell_command.empty()) {
      throw error(errc::invalid_argument, "bad target 'local:': a shell command must follow");
    }
    return;
  }
  std::string url = text;
  if (text.starts_with("ssh+native://")) {
    url = "ssh://" + text.substr(13);
  } else if (!text.starts_with("ssh://")) {
    if (text.find("://") != std::string::npos) {
      throw error(errc::invalid_argument,
                  "bad target '" + text +
                      "': use ssh://, ssh+native://, local, local:COMMAND or a host name");
    }
    url = "ssh://" + text;
  }
  std::string why;
  if (!transport::parse_ssh_target(url, why)) {
    throw error(errc::invalid_argument, "bad target '" + text + "': " + why);
  }
  options.target = text.starts_with("ssh+native://") ? text : url;
}

}  // namespace tether::fleet_detail
