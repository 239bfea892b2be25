#pragma once

#include <string>
#include <vector>

#include "cli/run_command.hpp"

namespace tether::cli {

/// `tether run -H ...`: every command, in order, on every target's session at once. With
/// `stop_at_failure` (`tether script` without --keep-going), a target whose command fails runs
/// no more of them. Returns tether's exit status (see fleet_exit_rule in main.cpp's help).
int run_fleet(const run_request& request, const std::vector<std::string>& targets,
              const std::vector<std::string>& commands, bool stop_at_failure);

/// `tether script FILE`: the file's commands (see split_script) through run_fleet.
int run_script(const run_request& request, const std::vector<std::string>& targets);

/// `tether repl`: read a line, run it on every target, show the results; until end of input.
int run_repl(const run_request& request, const std::vector<std::string>& targets);

}  // namespace tether::cli
