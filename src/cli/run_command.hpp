#pragma once

#include <optional>
#include <string>
#include <vector>

namespace tether::cli {

/// What `tether run` was asked to do.
struct run_request {
  std::string shell;   ///< shell command line ("bash", "ssh fred"); empty means /bin/sh
  std::string target;  ///< ssh://[user@]host[:port]; empty means a local shell
  std::string ssh_config;
  std::string identity_file;
  std::vector<std::string> ssh_options;
  double connect_timeout_s = 10.0;
  std::string known_hosts;           ///< ssh+native: known_hosts file
  std::string host_keys = "strict";  ///< ssh+native: strict, accept-new or off
  double timeout_s = 60.0;
  std::optional<double> idle_timeout_s;
  std::optional<std::size_t> max_output;
  bool json = false;
  bool echo = false;  ///< print each command before its output
  std::vector<std::string> commands;

  // Fleets (-H, --hosts-file, repl, script).
  std::vector<std::string> hosts;  ///< -H lists, each "a,b,c"
  std::string hosts_file;
  std::string output;  ///< prefixed, blocks or gathered; empty: prefixed for several targets
  std::size_t fanout = 64;
  std::vector<std::string> positional_targets;  ///< repl and script: TARGET...
  std::string script_file;
  bool keep_going = false;
};

/// Exit statuses of `tether run` (documented in README.md and `tether run --help`).
namespace exit_code {
inline constexpr int usage = 2;
inline constexpr int timed_out = 124;
inline constexpr int tether_failed = 125;
inline constexpr int output_closed = 141;  ///< as a program killed by SIGPIPE would report
}  // namespace exit_code

/// Run every command in one session, in order, printing as asked. Returns tether's exit
/// status: 0 when every command succeeded; otherwise the status of the last command that
/// failed (124 if it timed out), or 125 when Tether itself failed (the shell could not start or
/// died; the commands after that are not run).
int run_commands(const run_request& request);

}  // namespace tether::cli
