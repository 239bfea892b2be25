#include "cli/fleet_command.hpp"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <editline/readline.h>

#include "cli/fleet_output.hpp"
#include "cli/interrupt_catcher.hpp"
#include "cli/script_reader.hpp"
#include "cli/session_settings.hpp"
#include "cli/terminal_output.hpp"

namespace tether::cli {

namespace {

// Colours only for a person at a terminal, and never when NO_COLOR is set (no-color.org).
bool colours_wanted(bool on_a_terminal) {
  const char* no_color = std::getenv("NO_COLOR");
  return on_a_terminal && (no_color == nullptr || *no_color == '\0');
}

using clock = std::chrono::steady_clock;

// Thrown from the line callback once our reader is gone.
struct reader_gone {};

// How badly a target did, worst first wins the exit status.
enum severity { fine = 0, command_failed = 1, timed_out = 2, unreachable = 3 };

int exit_status_for(severity worst) {
  switch (worst) {
    case unreachable:
      return exit_code::tether_failed;
    case timed_out:
      return exit_code::timed_out;
    case command_failed:
      return 1;
    default:
      return 0;
  }
}

severity severity_of(const target_result& done) {
  if (done.error) return unreachable;
  if (done.outcome.timed_out) return timed_out;
  if (done.outcome.exit_status != 0) return command_failed;
  return fine;
}

output_mode mode_for(const run_request& request, std::size_t targets) {
  if (request.json) return output_mode::json;
  if (request.output == "blocks") return output_mode::blocks;
  if (request.output == "gathered") return output_mode::gathered;
  if (request.output == "prefixed") return output_mode::prefixed;
  return targets == 1 ? output_mode::plain : output_mode::prefixed;
}

// The fleet of the request's targets; nullopt, with the reason printed, for a malformed target.
std::optional<fleet> open_fleet(const run_request& request,
                                const std::vector<std::string>& targets) {
  fleet_options options;
  options.session = session_options_for(request);
  options.max_connecting = request.fanout;
  try {
    return fleet(targets, options);
  } catch (const error& failure) {
    print_line(2, std::string("tether: ") + failure.what());
    return std::nullopt;
  }
}

fleet_run_options run_options_for(const run_request& request) {
  fleet_run_options options;
  if (request.idle_timeout_s) options.idle_timeout = seconds{*request.idle_timeout_s};
  options.output_cap = request.max_output;
  return options;
}

// One command across the fleet, driven here so that Ctrl-C and the progress line are served
// while it runs.
std::vector<target_result> run_round(fleet& targets, const std::string& command,
                                     fleet_run_options options, fleet_printer& printer,
                                     progress_line& progress, interrupt_catcher& catcher,
                                     bool& interrupted) {
  if (printer.streams()) {
    options.on_line = [&printer](const target_line& line) {
      printer.line(line);
      if (output_closed()) throw reader_gone{};
    };
  }
  targets.begin_run(command, options);
  const auto started = clock::now();
  while (targets.busy()) {
    pollfd ready[2] = {{targets.descriptor(), POLLIN, 0}, {catcher.fd(), POLLIN, 0}};
    int timeout_ms = 100;  // the progress line's pace
    if (const auto deadline = targets.next_deadline()) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - clock::now()).count();
      timeout_ms = static_cast<int>(std::clamp<long long>(left + 1, 0, timeout_ms));
    }
    ::poll(ready, 2, timeout_ms);
    if (catcher.take()) {
      targets.interrupt();
      interrupted = true;
    }
    targets.step();
    progress.update(targets.progress(), clock::now() - started);
  }
  return targets.take_results();
}

void print_summary(const std::vector<std::string>& names, const std::vector<std::string>& why) {
  const auto failed = static_cast<std::size_t>(
      std::count_if(why.begin(), why.end(), [](const auto& text) { return !text.empty(); }));
  print_line(2, "tether: " + std::to_string(names.size()) +
                    " targets: " + std::to_string(names.size() - failed) + " ok, " +
                    std::to_string(failed) + " failed");
  std::size_t shown = 0;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (why[i].empty()) continue;
    if (++shown > 20) {
      print_line(2, "  ... and " + std::to_string(failed - 20) + " more");
      break;
    }
    print_line(2, "  " + names[i] + ": " + why[i]);
  }
}

std::string history_file() {
  const char* home = std::getenv("HOME");
  return home != nullptr ? std::string(home) + "/.tether_history" : std::string();
}

}  // namespace

int run_fleet(const run_request& request, const std::vector<std::string>& targets,
              const std::vector<std::string>& commands, bool stop_at_failure) {
  auto fleet_of = open_fleet(request, targets);
  if (!fleet_of) return exit_code::usage;
  auto& all = *fleet_of;
  const auto mode = mode_for(request, all.size());
  progress_line progress(mode != output_mode::json && ::isatty(2) == 1);
  fleet_printer printer(mode, colours_wanted(::isatty(1) == 1 && ::isatty(2) == 1), progress,
                        limits_of(request));
  interrupt_catcher catcher;
  bool interrupted = false;

  std::vector<std::string> names;
  for (std::size_t i = 0; i < all.size(); ++i) names.push_back(all.target(i));
  std::vector<std::string> why(all.size());  // each target's first failure
  std::vector<severity> worst(all.size(), fine);
  const auto options = run_options_for(request);

  for (const auto& command : commands) {
    fleet_run_options round = options;
    for (std::size_t i = 0; i < all.size(); ++i) {
      // A target that cannot be reached runs nothing more; with stop_at_failure, neither does
      // one whose command failed.
      if (worst[i] == unreachable || (stop_at_failure && worst[i] != fine)) continue;
      round.only.push_back(i);
    }
    if (round.only.empty()) break;
    if (round.only.size() == all.size()) round.only.clear();
    if (request.echo && mode != output_mode::json) print_line(2, "$ " + command);
    std::vector<target_result> results;
    try {
      results = run_round(all, command, round, printer, progress, catcher, interrupted);
    } catch (const reader_gone&) {
      return status_for_closed_output();
    }
    printer.results(command, results);
    for (const auto& one : results) {
      const auto level = severity_of(one);
      if (level == fine) continue;
      if (why[one.index].empty()) {
        why[one.index] = failure_of(one, limits_of(request)) + " ('" + command.substr(0, 40) +
                         (command.size() > 40 ? "...'" : "'") + ")";
      }
      worst[one.index] = std::max(worst[one.index], level);
    }
    if (output_closed()) return status_for_closed_output();
    if (interrupted) break;
  }
  if (all.size() > 1 && mode != output_mode::json) print_summary(names, why);
  if (catcher.ending() != 0 || interrupted) return end_by_signal(catcher.caught());
  return exit_status_for(*std::max_element(worst.begin(), worst.end()));
}

int run_script(const run_request& request, const std::vector<std::string>& targets) {
  std::ifstream file(request.script_file);
  if (!file) {
    print_line(2, "tether: cannot read the script '" + request.script_file + "'");
    return exit_code::usage;
  }
  std::stringstream text;
  text << file.rdbuf();
  const auto commands = split_script(text.str(), shell_says_complete);
  if (commands.empty()) return 0;
  return run_fleet(request, targets, commands, !request.keep_going);
}

int run_repl(const run_request& request, const std::vector<std::string>& targets) {
  auto fleet_of = open_fleet(request, targets);
  if (!fleet_of) return exit_code::usage;
  auto& all = *fleet_of;
  const bool terminal = ::isatty(0) == 1 && ::isatty(2) == 1;
  const auto mode = mode_for(request, all.size());
  progress_line progress(terminal);
  fleet_printer printer(mode == output_mode::json ? output_mode::json
                        : all.size() == 1         ? output_mode::plain
                                                  : output_mode::prefixed,
                        colours_wanted(terminal && ::isatty(1) == 1), progress, limits_of(request));
  interrupt_catcher catcher;

  // Open every session first, so that unreachable targets are named before the first prompt.
  for (const auto& one : all.open()) {
    if (one.error) print_line(2, "tether: " + one.target + ": " + one.outcome.error);
  }
  const std::string history = history_file();
  using_history();
  if (!history.empty()) read_history(history.c_str());
  // Saved however the repl ends: end of input, a closed output, or a signal (SIGTERM, SIGHUP
  // when the terminal goes), after which main() ends tether by that signal.
  struct history_saver {
    const std::string& file;
    ~history_saver() {
      if (!file.empty()) write_history(file.c_str());
    }
  } saver{history};
  const std::string prompt =
      all.size() == 1 ? "tether> " : "tether[" + std::to_string(all.size()) + "]> ";
  const auto options = run_options_for(request);
  severity worst = fine;  // over the whole session, for the exit status
  for (;;) {
    catcher.take();
    if (catcher.ending() != 0) return end_by_signal(catcher.ending());
    char* typed = readline(terminal ? prompt.c_str() : "");
    if (typed == nullptr) {
      if (catcher.take()) continue;  // Ctrl-C at the prompt: a fresh prompt, as shells do
      break;                         // end of input (Ctrl-D)
    }
    std::string command(typed);
    std::free(typed);
    if (command.find_first_not_of(" \t") == std::string::npos) continue;
    add_history(command.c_str());
    bool interrupted = false;
    try {
      const auto results =
          run_round(all, command, options, printer, progress, catcher, interrupted);
      printer.results(command, results);
      // A command interrupted with Ctrl-C is the user's choice, not a failure to report.
      for (const auto& one : results) {
        if (!interrupted) worst = std::max(worst, severity_of(one));
      }
    } catch (const reader_gone&) {
      return status_for_closed_output();
    }
    if (output_closed()) return status_for_closed_output();
    if (catcher.ending() != 0) return end_by_signal(catcher.ending());
  }
  if (terminal) write_all(1, "\n");
  return exit_status_for(worst);
}

}  // namespace tether::cli
