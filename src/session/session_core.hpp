#pragma once

#include <poll.h>

#include <array>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "loop/poll_set.hpp"
#include "protocol/command_encoder.hpp"
#include "session/command_run.hpp"
#include "tether/error.hpp"
#include "tether/session.hpp"
#include "transport/libssh_login.hpp"
#include "transport/libssh_shell_opening.hpp"
#include "transport/ssh_target.hpp"
#include "transport/ssh_transport.hpp"
#include "transport/transport.hpp"

namespace tether::session_detail {

/// One session's shell and the operation under way on it (start-up: spawn, handshake, setup
/// commands; or one command), as a state machine that never blocks: the owner waits on
/// add_poll_fds() until next_deadline() and calls advance(). tether::session drives one with a
/// blocking wait; tether::fleet drives many from one epoll loop.
class session_core {
 public:
  /// Checks the options; starts nothing (begin_start does).
  explicit session_core(session_options options);
  /// A session on a channel of an open native SSH connection.
  session_core(std::shared_ptr<ssh::connection::core> connection, session_options options);
  /// The stop ladder.
  ~session_core();
  session_core(const session_core&) = delete;
  session_core& operator=(const session_core&) = delete;

  /// Begin start-up. Never throws: a failure is the operation's outcome.
  void begin_start();
  /// Begin a command. Throws at once what needs no shell to know: a NUL byte in the command
  /// (invalid_argument), a closed session or a dead one without restart_on_death
  /// (session_closed), an operation already under way (invalid_argument).
  void begin_command(std::string_view command, const run_options& options);
  /// Interrupt the running command now, as its timeout would (the result is not marked timed
  /// out: the shell reports 130). No effect when no command runs.
  void interrupt();

  /// An operation is under way; its outcome is ready once this turns false.
  [[nodiscard]] bool busy() const { return phase_ != phase::idle; }
  /// The session is being started (connect, handshake, setup), not running a command.
  [[nodiscard]] bool starting() const { return phase_ != phase::idle && phase_ != phase::command; }
  std::size_t add_poll_fds(std::vector<pollfd>& fds) const;
  /// When advance() must be called even if no descriptor is ready; a time long past when a
  /// transport holds input already read.
  [[nodiscard]] std::optional<clock::time_point> next_deadline() const;
  /// Changes whenever descriptors that add_poll_fds named may have been closed (so their numbers
  /// may come back for other files): an epoll registration must then be made afresh.
  [[nodiscard]] std::uint64_t descriptor_generation() const { return generation_; }
  /// Progress after a wait; `mine` are the entries add_poll_fds appended, with revents set.
  /// Rethrows what an output callback throws, after stopping the shell (it may still be
  /// printing, so it cannot frame another command).
  void advance(const pollfd* mine, std::size_t count, clock::time_point now);

  /// How the last operation ended: its result, and the error when it failed.
  struct outcome {
    result value;
    std::optional<error> failure;
  };
  outcome take_outcome();

  /// Drive the operation under way to its end with blocking waits (loop::poll_set). Throws
  /// errc::io_failed if waiting itself fails (the session is stopped then).
  void drive();

  void set_timeout(seconds timeout) { timeout_ = timeout; }
  [[nodiscard]] seconds timeout() const { return timeout_; }
  [[nodiscard]] bool alive() const;
  [[nodiscard]] const std::string& target() const { return target_; }
  [[nodiscard]] int shell_pid() const;
  // A known local shell: what reads its streams in order (protocol::markers) is what keeps its
  // commands in its process group.
  [[nodiscard]] bool shell_is_local() const { return ordered_streams_; }
  /// Stop everything now; further commands fail with session_closed. Never throws.
  void close() noexcept;

 private:
  // stopping: a command was abandoned; the kill of its remote process group is on its way, and
  // the shell starts again once it has arrived (or been given up).
  enum class phase { idle, connecting, handshake, setup, command, stopping };
  struct queued_command {
    std::string command;
    run_options options;
  };
  void begin_connect();
  void begin_opening();
  void advance_connecting(clock::time_point now);
  void create_channel();
  void begin_handshake();
  void next_setup();
  void start_command(std::string_view command, const run_options& options);
  void on_run_done();
  void begin_stopping();
  void advance_phase(const pollfd* mine, std::size_t count, clock::time_point now);
  void note_closed_descriptors();
  void finish_stopping();
  void handshake_done();
  void setup_done();
  void command_done();
  void start_complete();
  void fail_start(const error& failure);
  void finish(result value, std::optional<error> failure = std::nullopt);
  void abandon(const std::string& why) noexcept;
  [[nodiscard]] int watched_interrupt_fd() const;
  [[nodiscard]] result interrupted_before_sending() const;
  void drop_operation() noexcept;
  void stop() noexcept;

  session_options options_;
  std::vector<std::string> argv_;
  std::string target_;
  std::string shown_;  // the shell as the user wrote it, for messages
  seconds timeout_;
  std::unique_ptr<transport::transport> channel_;
  std::array<std::string, 2> leftovers_;
  std::string stale_marker_;   // the last command's marker line (see command_run)
  std::string spare_line_;     // the buffer command lines are written in (see start_command)
  std::string ended_because_;  // why the shell is gone; empty while it lives
  bool closed_ = false;

  std::optional<transport::ssh_command> ssh_;  // set for sessions over ssh
  bool ordered_streams_ = false;               // see protocol::markers
  bool commands_on_fd3_ = false;               // see protocol::prelude_options
  protocol::line_style line_style_;            // how command lines are written (handshake)

  // Native SSH: the connection the shell's channel lives on; `native_target_` set when this
  // session made the connection itself (and so may make it again after it drops).
  std::shared_ptr<ssh::connection::core> native_;
  std::optional<transport::ssh_target> native_target_;

  // Native SSH start-up in steps: the connection being made and logged in to (`connecting_`
  // until `login_` is done), then the shell's channel being opened.
  std::shared_ptr<ssh::connection::core> connecting_;
  std::unique_ptr<ssh::login> login_;
  std::unique_ptr<transport::libssh_shell_opening> opening_;
  std::optional<clock::time_point> opening_deadline_;

  phase phase_ = phase::idle;
  std::uint64_t generation_ = 0;
  std::uint64_t closed_seen_ = 0;   // the channel's closed_descriptors(), as last seen
  std::optional<command_run> run_;  // in place: no allocation per command
  run_options command_options_;     // the running command's; its limits point into it
  // run_options::interrupt_fd of the caller's command: seen readable (or invalid), so no
  // longer watched; and whether that asked for an interrupt.
  bool interrupt_fd_fired_ = false;
  bool interrupt_requested_ = false;
  std::string command_;  // the running command, for messages
  std::size_t setup_index_ = 0;
  std::optional<queued_command> queued_;  // runs once the restart under way completes
  bool restarting_for_run_ = false;       // the running command follows a restart
  std::optional<result> abandoned_;       // a timed-out command whose shell is being restarted
  outcome outcome_;

  // drive()'s: what it waits on, and how
  std::vector<pollfd> fds_;
  loop::poll_set waits_;
};

}  // namespace tether::session_detail
