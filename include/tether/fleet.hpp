#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "tether/output_stream.hpp"
#include "tether/result.hpp"
#include "tether/session.hpp"

namespace tether {

/// One target's answer to a fleet operation.
struct target_result {
  /// The target's name in the fleet (as given; a repeated name gets "#2", "#3"...).
  std::string target;
  /// Its position in the fleet.
  std::size_t index = 0;
  /// The command's result: exact stdout and stderr, exit status, duration, timed out... For a
  /// target that failed, `outcome.error` says why and out/err hold what arrived before.
  result outcome;
  /// Set when the target failed: it could not be reached or started (connect_failed,
  /// host_key_rejected, auth_failed, start_failed, spawn_failed), its shell died
  /// (shell_exited), or it had failed before and is not retried (session_closed).
  std::error_code error;
  /// Times since the start of the fleet's run() or open(): when this target's session was
  /// ready (unset when it was open already), when its first output byte came (unset if none),
  /// and when its result was complete.
  std::optional<seconds> connected_at;
  std::optional<seconds> first_byte_at;
  seconds finished_at{0.0};

  /// The target answered and its command ran to completion with status 0.
  [[nodiscard]] bool ok() const { return !error && outcome.ok(); }
};

/// A line of a target's output, as it arrives.
struct target_line {
  std::size_t index;          ///< the target's position in the fleet
  const std::string& target;  ///< its name
  output_stream stream;
  /// One line with its '\n'. The last piece of a command's output lacks it when the command
  /// did not end its output with a newline: concatenated, the lines are the exact output.
  std::string_view text;
};

struct fleet_options {
  /// Settings for every target's session (its `target`, `shell_argv` and `shell_command` are
  /// set from the target).
  session_options session;
  /// How many sessions may be starting (connecting, authenticating, handshaking) at once. An
  /// sshd refuses unauthenticated connections beyond its MaxStartups (default 10:30:100).
  std::size_t max_connecting = 64;
};

/// One command's options on a fleet. Every field has a default.
struct fleet_run_options {
  /// Each target's deadline for the command; unset means the sessions' timeout.
  std::optional<seconds> timeout;
  /// Interrupt a target's command when it has printed nothing for this long.
  std::optional<seconds> idle_timeout;
  /// Bytes each target's command gets as its stdin, then end of file (default: /dev/null).
  std::optional<std::string> stdin_data;
  /// Keep at most this many bytes of each stream per target (see run_options::output_cap); with
  /// on_line, at most this many are passed on. Either way the result says so (out_truncated /
  /// err_truncated).
  std::optional<std::size_t> output_cap;
  /// Run on these targets only (positions in the fleet); empty means all. Results come for
  /// these targets only, in the fleet's order.
  std::vector<std::size_t> only;
  /// Receives output line by line as it arrives, tagged with its target. When set, the
  /// results' out and err stay empty. Called inside run() or step(), on the caller's thread.
  std::function<void(const target_line&)> on_line;
};

/// Many sessions, one command across all of them at once: local shells, SSH through the ssh
/// client, native SSH, mixed. Sessions open concurrently (at most max_connecting at a time) and
/// stay open, so the next command costs no new connection. Everything runs on one thread, from
/// one epoll loop, native SSH handshakes included (so a native target's passphrase and
/// keyboard-interactive callbacks are called on the caller's thread, inside run() or step()).
///
/// A target that cannot connect, dies or times out is reported in its own result; the others go
/// on. Move-only; use from one thread at a time.
class fleet {
 public:
  /// Targets: "ssh://[user@]host[:port]", "ssh+native://[user@]host[:port]", "local" (a local
  /// /bin/sh), "local:COMMAND" (a local shell command line, e.g. "local:bash"); anything else,
  /// such as "web1" or "fred@web1:2222", means ssh://. Throws errc::invalid_argument for a
  /// malformed target.
  explicit fleet(const std::vector<std::string>& targets, fleet_options options = {});
  /// The same from a braced list: fleet({"web1", "web2"}).
  fleet(std::initializer_list<std::string> targets, fleet_options options = {})
      : fleet(std::vector<std::string>(targets), std::move(options)) {}
  /// One session's options per target, named after their targets.
  explicit fleet(std::vector<session_options> sessions, std::size_t max_connecting = 64);
  fleet(fleet&&) noexcept;
  fleet& operator=(fleet&&) noexcept;
  fleet(const fleet&) = delete;
  fleet& operator=(const fleet&) = delete;
  /// Closes every session (see session's stop ladder).
  ~fleet();

  /// Open every session that is not open yet, and wait. One result per target: its error when
  /// it could not be opened. Optional: run() opens what it needs.
  std::vector<target_result> open();
  /// Run `command` on every target at once and wait for all; one result per target, in the
  /// fleet's order. A target that failed to open before is not tried again (its result repeats
  /// the error) unless session_options::restart_on_death is set.
  std::vector<target_result> run(std::string_view command, const fleet_run_options& options = {});

  /// Driving the fleet from your own loop: begin an operation, wait until descriptor() is
  /// readable or next_deadline() passes, call step(), repeat while busy(), then take_results().
  void begin_open();
  void begin_run(std::string_view command, const fleet_run_options& options = {});
  [[nodiscard]] bool busy() const;
  /// An epoll descriptor: readable when step() has work.
  [[nodiscard]] int descriptor() const;
  /// When step() must be called even if descriptor() is not readable; unset: no deadline.
  [[nodiscard]] std::optional<std::chrono::steady_clock::time_point> next_deadline() const;
  /// Do what can be done now, without waiting. Rethrows what an on_line callback throws, after
  /// closing every session that was still running a command (they may still be printing).
  void step();
  /// How far the operation under way is: targets done, of which failed (not ok()), and still
  /// running (or connecting).
  struct progress_counts {
    std::size_t done = 0;
    std::size_t failed = 0;
    std::size_t running = 0;
  };
  [[nodiscard]] progress_counts progress() const;
  /// The results of the operation that just ended (empty while busy()).
  std::vector<target_result> take_results();

  /// Interrupt every running command now (as a timeout would; the shells report 130), e.g. on
  /// Ctrl-C in an interactive program. The results follow as usual. Called again while some
  /// commands are still being interrupted (a second Ctrl-C), it gives those up at once instead
  /// of after interrupt_grace: each is killed with its shell, and the shell started afresh, as
  /// when the grace period ends.
  void interrupt();

  [[nodiscard]] std::size_t size() const;
  [[nodiscard]] const std::string& target(std::size_t index) const;
  /// The target's session is open and its shell alive.
  [[nodiscard]] bool alive(std::size_t index) const;
  /// Close every session now. Never throws.
  void close() noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace tether
