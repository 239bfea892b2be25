#pragma once

#include <string>
#include <vector>

#include "cli/run_command.hpp"
#include "cli/terminal_output.hpp"
#include "tether/session.hpp"

namespace tether::cli {

/// The session settings the command line asked for (ssh options, timeouts, shell).
session_options session_options_for(const run_request& request);

/// The command time limits the command line asked for, for messages about them.
time_limits limits_of(const run_request& request);

/// The targets named by -H and --hosts-file, in order; throws tether::error
/// (invalid_argument) for an unreadable file or a malformed entry, naming it.
std::vector<std::string> requested_targets(const run_request& request);

}  // namespace tether::cli
