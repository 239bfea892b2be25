#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace tether {

/// Everything one command produced. A command's exit status is data, not an error:
/// a failing command is a result with a non-zero `exit_status`, never an exception.
struct result {
  /// The command's exact stdout and stderr bytes: nothing added, removed or re-encoded
  /// (no trailing newline is invented, NUL bytes and invalid UTF-8 are kept). Empty when the
  /// command's output went to a streaming callback instead (`run_options::on_output`).
  std::string out;
  std::string err;

  /// The shell's `$?` for the command; empty when none was received (the command timed out and
  /// the shell had to be killed, or the shell died). Statuses above 256 that ksh93 reports for a
  /// command killed by a signal are normalised to the usual 128 + signal number.
  std::optional<int> exit_status;

  /// Wall time from sending the command until its result was complete.
  std::chrono::nanoseconds duration{};

  /// Time from sending the command until its first byte of output; empty if it printed nothing.
  std::optional<std::chrono::nanoseconds> first_output;

  /// The command's timeout or idle timeout expired and it was interrupted. `exit_status` is then
  /// the shell's (130 after an interrupt), or empty if the shell had to be killed.
  bool timed_out = false;

  /// The session's shell had to be started again for this result: after a timeout that the
  /// interrupt did not end, or because the shell had died and `restart_on_death` was set.
  bool restarted = false;

  /// `out` / `err` hit `run_options::output_cap` and later bytes were dropped (the command
  /// still ran to its end).
  bool out_truncated = false;
  bool err_truncated = false;

  /// Where the command ran, e.g. `local:/bin/sh`.
  std::string target;

  /// Empty on success; otherwise why the machinery failed (the shell died, could not be
  /// written to, ...). The same text as the thrown `tether::error`.
  std::string error;

  /// True when the command ran to completion with status 0.
  [[nodiscard]] bool ok() const { return error.empty() && !timed_out && exit_status == 0; }
};

}  // namespace tether
