#include "cli/session_settings.hpp"

#include <fstream>
#include <sstream>

#include "cli/target_list.hpp"
#include "tether/error.hpp"

namespace tether::cli {

session_options session_options_for(const run_request& request) {
  session_options options;
  options.shell_command = request.shell;
  options.target = request.target;
  options.timeout = seconds{request.timeout_s};
  options.ssh.config_file = request.ssh_config;
  options.ssh.identity_file = request.identity_file;
  options.ssh.options = request.ssh_options;
  options.ssh.connect_timeout = seconds{request.connect_timeout_s};
  options.start_timeout = seconds{request.connect_timeout_s + 20.0};
  options.native.config_file = request.ssh_config;
  if (!request.identity_file.empty()) options.native.identity_files = {request.identity_file};
  options.native.known_hosts_file = request.known_hosts;
  options.native.connect_timeout = seconds{request.connect_timeout_s};
  options.native.host_keys = request.host_keys == "off"          ? ssh::host_key_policy::off
                             : request.host_keys == "accept-new" ? ssh::host_key_policy::accept_new
                                                                 : ssh::host_key_policy::strict;
  if (request.shell.empty() && request.target.empty()) options.shell_argv = {"/bin/sh"};
  return options;
}

std::vector<std::string> requested_targets(const run_request& request) {
  std::vector<std::string> targets;
  for (const auto& list : request.hosts) {
    for (auto& one : parse_target_list(list)) targets.push_back(std::move(one));
  }
  if (!request.hosts_file.empty()) {
    std::ifstream file(request.hosts_file);
    if (!file) {
      throw error(errc::invalid_argument,
                  "cannot read the hosts file '" + request.hosts_file + "'");
    }
    std::stringstream content;
    content << file.rdbuf();
    std::string why;
    auto listed = parse_hosts_file(content.str(), why);
    if (!why.empty()) throw error(errc::invalid_argument, request.hosts_file + ": " + why);
    for (auto& one : listed) targets.push_back(std::move(one));
  }
  return targets;
}

time_limits limits_of(const run_request& request) {
  return {.timeout_s = request.timeout_s, .idle_timeout_s = request.idle_timeout_s};
}

}  // namespace tether::cli
