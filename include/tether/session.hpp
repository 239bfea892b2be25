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

#include "tether/error.hpp"
#include "tether/output_stream.hpp"
#include "tether/result.hpp"
#include "tether/ssh.hpp"

namespace tether {

/// Durations in seconds, fractional allowed; any std::chrono duration converts to it (`500ms`).
using seconds = std::chrono::duration<double>;

/// Settings for sessions over SSH through the OpenSSH client (`ssh`). Every field has a
/// default; an empty field means the default, i.e. what ~/.ssh/config and ssh itself say.
struct ssh_options {
  /// ssh -i: the private key to offer.
  std::string identity_file;
  /// ssh -F: an ssh_config file to read instead of ~/.ssh/config.
  std::string config_file;
  /// Extra ssh -o settings, e.g. "StrictHostKeyChecking=accept-new". They win over the
  /// config file; BatchMode=yes and the connection-sharing settings Tether needs win over them.
  std::vector<std::string> options;
  /// ssh ConnectTimeout: how long the TCP connection and the server's first words may take.
  seconds connect_timeout{10.0};
  /// The shell started on the far side, whatever the account's login shell is (tcsh, fish).
  std::string remote_shell = "/bin/sh";
  /// The ssh client program.
  std::string program = "ssh";
};

/// How a session starts. Every field has a default; an empty field means the default.
struct session_options {
  /// Where the shell runs. Empty: a local process (shell_argv or shell_command below).
  /// "ssh://[user@]host[:port]": `ssh` to that host (user, port and host aliases from
  /// ssh_config apply as they do for ssh), running ssh.remote_shell there, one connection for
  /// the session's life. A shell_command of the form "ssh [ssh-args] host" is treated the same
  /// way (IPC::Session's "ssh fred"). "ssh+native://[user@]host[:port]": a channel of a
  /// connection of its own made with libssh (no ssh process), set up by `native`; to share one
  /// connection among sessions, open them on a tether::ssh::connection instead.
  std::string target;
  ssh_options ssh;
  ssh::connect_options native;

  /// The shell as an argv, e.g. {"bash"} or {"zsh", "-f"}; looked up on PATH. It is run as a
  /// local process (for SSH, use `target`, whose interrupts reach the remote command).
  std::vector<std::string> shell_argv;
  /// The shell as one command line, IPC::Session style: "ssh fred". Run through `/bin/sh -c
  /// 'exec ...'`, so quoting and `VAR=value` prefixes work. Use either this or shell_argv.
  std::string shell_command;
  /// Default is `/bin/sh` when both are empty.

  /// Default deadline for each command; run_options::timeout overrides it for one call.
  /// Zero or negative means no deadline.
  seconds timeout{60.0};
  /// How long start-up (spawn and the first handshake with the shell) may take.
  seconds start_timeout{30.0};
  /// After interrupting a timed-out command, how long to wait for the shell to come back
  /// before killing its process group and starting it again.
  seconds interrupt_grace{2.0};
  /// When the shell has died (for SSH: the connection dropped), the next run() starts a new
  /// one, reconnecting and replaying setup_commands, and says so in its result (`restarted`),
  /// instead of failing with errc::session_closed.
  bool restart_on_death = false;
  /// Directory the shell starts in; empty means the caller's.
  std::string working_directory;
  /// Shell commands run after start-up and after every restart (e.g. `cd /srv`, `export X=1`),
  /// so that a restarted session regains its state. Their output is discarded; a failing one
  /// makes start-up fail.
  std::vector<std::string> setup_commands;
};

/// One command's options. Every field has a default; an empty field means the default.
struct run_options {
  /// Deadline for the whole command; unset means the session's timeout. <= 0 means none.
  std::optional<seconds> timeout;
  /// Interrupt the command when it has printed nothing for this long. Unset means none.
  std::optional<seconds> idle_timeout;
  /// Bytes given to the command as its stdin, followed by end of file. Unset means the command
  /// reads /dev/null: a command never reads Tether's own control stream.
  std::optional<std::string> stdin_data;
  /// Keep at most this many bytes of each stream in the result; the rest is read and dropped,
  /// and the result says so (`out_truncated` / `err_truncated`). Unset means no cap.
  std::optional<std::size_t> output_cap;
  /// Receives output as it arrives, in chunks of any size. When set, the result's out and err
  /// stay empty, so output of any size needs no memory. Called on the caller's thread, inside
  /// run(); it must not call back into the same session.
  std::function<void(output_stream, std::string_view)> on_output;
  /// A descriptor that session::run watches while the command runs: once it is readable (an
  /// eventfd or a pipe written to by another thread or by a signal handler, e.g. on Ctrl-C), the
  /// command is interrupted as a timeout would interrupt it: SIGINT to its process group, the
  /// shell comes back (status 130) with its state, and the result keeps the output so far but
  /// is not marked timed_out. A command that ignores SIGINT is killed after interrupt_grace,
  /// with its shell, which is not started again then (no waiting for a new shell or SSH
  /// connection in a cancel): the result has no exit status, and the next run() starts a new
  /// shell if restart_on_death is set, else fails with session_closed. Readable already when
  /// run() is called, or while the shell is being started again for this command
  /// (restart_on_death), the command is not sent at all: the result has status 130 and no
  /// output. Tether never reads from it, and watches it only until it first fires. Negative
  /// (the default): none. A fleet has fleet::interrupt().
  int interrupt_fd = -1;
};

/// A shell kept open, to which commands are sent one after another. `cd`, variables, exported
/// variables, functions and umask persist between commands.
///
/// Move-only. Not thread-safe: use one session from one thread at a time (many sessions may
/// be used from many threads). Destroying a session runs its stop ladder: close the shell's
/// stdin, give it 100 ms to exit, then SIGKILL its whole process group (commands left running
/// in the background included) and reap it. Nothing is left behind.
class session {
 public:
  /// Start the shell and check that it answers. Throws tether::error: spawn_failed (the shell
  /// program is missing or not executable; the message names it), start_failed (it did not
  /// answer, or exited during start-up; the message has its stderr).
  explicit session(session_options options = {});
  /// The same, with the shell given as a command line ("ssh fred") and a default timeout.
  explicit session(std::string_view shell_command, seconds timeout = seconds{60.0});
  /// A shell on a new channel of an open native SSH connection, which it shares with every
  /// other session and exec() on it (one TCP connection, one handshake). `options.target` must
  /// be empty; the remote shell is options.ssh.remote_shell.
  explicit session(ssh::connection& connection, session_options options = {});

  session(session&&) noexcept;
  session& operator=(session&&) noexcept;
  session(const session&) = delete;
  session& operator=(const session&) = delete;
  ~session();

  /// Run one shell command line in the session and return its result. Throws tether::error when
  /// the machinery fails (the shell died: errc::shell_exited, with the output captured so far in
  /// error::partial(); the session was closed: errc::session_closed). A timeout is not an
  /// error: the result says `timed_out`.
  ///
  /// The result lives in the session, as IPC::Session's does: the reference stays valid until
  /// the next run() on this session (or its move or destruction). `auto r = s.run(...)` keeps a
  /// copy; `const auto& r = s.run(...)` avoids copying a big output.
  const result& run(std::string_view command, const run_options& options = {});
  /// The same without exceptions: machinery failures set `ec` and `result::error`, and the
  /// returned result keeps the output captured so far.
  const result& run(std::string_view command, const run_options& options, std::error_code& ec);
  /// Run a program with arguments, each word quoted safely: run_argv({"ls", "-l", path}).
  const result& run_argv(std::initializer_list<std::string_view> argv,
                         const run_options& options = {});
  const result& run_argv(const std::vector<std::string>& argv, const run_options& options = {});

  /// The last command's result, the one run() returned (IPC::Session's stdout(), stderr() and
  /// errno()).
  [[nodiscard]] const result& last() const;

  /// The default per-command timeout; fractional seconds allowed; <= 0 means none.
  void set_timeout(seconds timeout);
  [[nodiscard]] seconds timeout() const;

  /// The shell is running and ready for run().
  [[nodiscard]] bool alive() const;
  /// Where commands run, e.g. `local:/bin/sh`; used as result::target.
  [[nodiscard]] const std::string& target() const;
  /// The shell's process id (its process group id too); -1 once closed.
  [[nodiscard]] int shell_pid() const;
  /// Whether the shell is a process of this machine that the session started itself (sh,
  /// bash, ... ), whose process group (shell_pid()) then holds everything its commands run.
  /// False over SSH and through relays such as `docker exec -i c sh`, where shell_pid() is the
  /// local client's and the commands run elsewhere.
  [[nodiscard]] bool shell_is_local() const;

  /// Run the stop ladder now (see the class comment). Further run() calls fail with
  /// errc::session_closed. Never throws.
  void close() noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace tether
