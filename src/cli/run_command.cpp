#include "cli/run_command.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>

#include "cli/interrupt_catcher.hpp"
#include "cli/result_json.hpp"
#include "cli/session_settings.hpp"
#include "cli/terminal_output.hpp"
#include "tether/session.hpp"

namespace tether::cli {

namespace {

// Thrown from the streaming callback once the reader is gone.
struct reader_gone {};

// A short note on stderr for what a user must not miss; the output itself is untouched.
void report_human(const result& done, const std::string& command, const run_request& request,
                  bool interrupted) {
  if (interrupted) {
    print_line(2, "tether: '" + command + "' was interrupted" +
                      (done.exit_status ? "" : " (it ignored SIGINT and was killed)"));
  } else if (done.timed_out) {
    print_line(2, "tether: '" + command + "' " +
                      timeout_message(done.duration, limits_of(request)) +
                      (done.restarted ? " (the shell was restarted)" : ""));
  } else if (done.exit_status && *done.exit_status != 0) {
    print_line(2,
               "tether: '" + command + "' exited with status " + std::to_string(*done.exit_status));
  }
  if (done.out_truncated || done.err_truncated) {
    print_line(2, "tether: '" + command + "' printed more than --max-output; the rest was dropped");
  }
}

}  // namespace

int run_commands(const run_request& request) {
  session_options options = session_options_for(request);
  std::optional<session> shell;
  try {
    shell.emplace(std::move(options));
  } catch (const error& failure) {
    print_line(2, std::string("tether: ") + failure.what());
    return exit_code::tether_failed;
  }

  // Ctrl-C, SIGTERM and SIGHUP interrupt the running command as a timeout would: what it
  // printed so far is shown (or its JSON line printed), later commands are not run, and once
  // the session is closed main() ends tether by the signal. A second signal while the first is
  // served (a command that ignores SIGINT is given interrupt_grace) kills a local shell's group
  // at once.
  interrupt_catcher catcher;
  const auto status_after_signal = [&catcher] { return end_by_signal(catcher.caught()); };
  // The session is closed while the catcher still holds the signals: a signal in the middle of
  // the stop ladder would otherwise end tether before it kills what the commands left running.
  struct close_session_first {
    std::optional<session>& shell;
    interrupt_catcher& catcher;
    ~close_session_first() {
      shell.reset();
      if (catcher.take()) end_by_signal(catcher.caught());
    }
  } closer{shell, catcher};

  run_options per_command;
  per_command.interrupt_fd = catcher.fd();
  if (request.idle_timeout_s) per_command.idle_timeout = seconds{*request.idle_timeout_s};
  per_command.output_cap = request.max_output;
  if (!request.json && !request.max_output) {
    // Human output streams as it arrives, so long commands show progress and big outputs need
    // no memory.
    per_command.on_output = [](output_stream stream, std::string_view bytes) {
      write_all(stream == output_stream::out ? 1 : 2, bytes);
      // Nobody reads any more: abandon the command (the session then kills its processes).
      if (output_closed()) throw reader_gone{};
    };
  }

  int status = 0;
  for (const auto& command : request.commands) {
    if (request.echo && !request.json) print_line(2, "$ " + command);
    if (catcher.take()) return status_after_signal();  // came between commands
    std::error_code failed;
    const result* ran = nullptr;
    // A restart (restart_on_death, a timeout's kill) gives the shell a new pid: renewed for
    // each command. Only for a local shell: killing a remote command takes the session's own
    // stop ladder (the local ssh client's group is not the command), so there a second signal
    // waits, like the first, for interrupt_grace.
    catcher.end_on_second_signal(shell->shell_is_local(), shell->shell_pid());
    try {
      ran = &shell->run(command, per_command, failed);
    } catch (const reader_gone&) {
      return status_for_closed_output();
    }
    const bool killed = catcher.killed_group();
    catcher.end_on_second_signal(false, 0);
    const bool interrupted = catcher.take();
    const result& done = *ran;
    if (failed) {
      if (request.json) {
        print_line(1, result_to_json(done, command).dump());
      } else {
        if (!per_command.on_output) {
          write_all(1, done.out);
          write_all(2, done.err);
        }
        // The shell's death is then what the user asked for, not a failure to explain.
        print_line(2, killed ? "tether: a second signal killed the command and its shell"
                             : "tether: " + done.error);
      }
      return interrupted ? status_after_signal() : exit_code::tether_failed;
    }
    if (request.json) {
      print_line(1, result_to_json(done, command).dump());
    } else {
      if (!per_command.on_output) {
        write_all(1, done.out);
        write_all(2, done.err);
      }
      report_human(done, command, request, interrupted);
    }
    if (interrupted) return status_after_signal();
    if (done.timed_out) {
      status = exit_code::timed_out;
    } else if (done.exit_status && *done.exit_status != 0) {
      status = *done.exit_status;
    }
    if (output_closed()) return status_for_closed_output();
  }
  if (catcher.take()) return status_after_signal();  // came as the last command ended
  return status;
}

}  // namespace tether::cli
