#include "tether/session.hpp"

#include <errno.h>
#include <string.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <utility>

#include "loop/poll_wait.hpp"
#include "protocol/command_encoder.hpp"
#include "session/command_run.hpp"
#include "session/nonce.hpp"
#include "tether/quote.hpp"
#include "transport/libssh_channel_transport.hpp"
#include "transport/libssh_connection.hpp"
#include "transport/process_transport.hpp"
#include "transport/ssh_target.hpp"
#include "transport/ssh_transport.hpp"

namespace tether {

namespace {

using session_detail::clock;
using session_detail::command_limits;
using session_detail::command_run;

// How long the stop ladder lets a shell exit on its own after its stdin is closed.
constexpr int stop_grace_ms = 100;

std::optional<clock::duration> to_limit(seconds value) {
  if (!(value.count() > 0)) return std::nullopt;  // also catches NaN
  // A year is "forever" for a command, and keeps the arithmetic far from overflow.
  constexpr double year = 365.0 * 24 * 3600;
  if (!std::isfinite(value.count()) || value.count() > year) return std::nullopt;
  return std::chrono::duration_cast<clock::duration>(value);
}

// ksh93 reports a command killed by signal N as 256 + N; every other shell says 128 + N.
int normalise_status(int status) {
  return status > 256 ? status - 128 : status;
}

// `exec` makes the shell itself the process we watch and signal, not a wrapper around it.
// `exec VAR=x cmd` is not valid shell, so leading assignments go through env(1).
std::vector<std::string> argv_for_command_line(const std::string& line) {
  std::size_t name_end = 0;
  while (name_end < line.size() &&
         (std::isalnum(static_cast<unsigned char>(line[name_end])) != 0 || line[name_end] == '_')) {
    ++name_end;
  }
  const bool starts_with_assignment = name_end > 0 && name_end < line.size() &&
                                      line[name_end] == '=' &&
                                      std::isdigit(static_cast<unsigned char>(line[0])) == 0;
  return {"/bin/sh", "-c", (starts_with_assignment ? "exec env " : "exec ") + line};
}

// The number on the last line of `text` (login banners may come before it); -1 if none.
int last_line_number(const std::string& text) {
  std::string_view rest(text);
  while (!rest.empty() && rest.back() == '\n') rest.remove_suffix(1);
  rest = rest.substr(rest.rfind('\n') == std::string_view::npos ? 0 : rest.rfind('\n') + 1);
  if (rest.empty() || rest.size() > 9 ||
      !std::all_of(rest.begin(), rest.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return -1;
  }
  return std::stoi(std::string(rest));
}

// The ssh arguments every ssh session gets from ssh_options.
transport::ssh_command base_ssh_command(const ssh_options& settings) {
  transport::ssh_command command;
  command.program = settings.program;
  command.remote_shell = settings.remote_shell;
  command.connect_timeout_s =
      std::max(1, static_cast<int>(std::ceil(settings.connect_timeout.count())));
  if (!settings.config_file.empty())
    command.options.insert(command.options.end(), {"-F", settings.config_file});
  if (!settings.identity_file.empty())
    command.options.insert(command.options.end(), {"-i", settings.identity_file});
  for (const auto& option : settings.options)
    command.options.insert(command.options.end(), {"-o", option});
  return command;
}

transport::ssh_command ssh_command_for_target(const std::string& text,
                                              const ssh_options& settings) {
  std::string why;
  const auto parsed = transport::parse_ssh_target(text, why);
  if (!parsed) throw error(errc::invalid_argument, "bad target '" + text + "': " + why);
  auto command = base_ssh_command(settings);
  if (!parsed->user.empty()) command.options.insert(command.options.end(), {"-l", parsed->user});
  if (parsed->port)
    command.options.insert(command.options.end(), {"-p", std::to_string(*parsed->port)});
  // "--" ends ssh's options: the host can never be read as one.
  command.destination = {"--", parsed->host};
  return command;
}

// A command line made of plain words (no quoting, expansion or operators), split on blanks;
// nullopt for anything a shell would read differently.
std::optional<std::vector<std::string>> plain_words(const std::string& line) {
  if (line.find_first_of("'\"\\$`;&|<>(){}*?~\n") != std::string::npos) return std::nullopt;
  std::vector<std::string> words;
  std::size_t at = 0;
  while (at < line.size()) {
    const auto start = line.find_first_not_of(" \t", at);
    if (start == std::string::npos) break;
    const auto end = line.find_first_of(" \t", start);
    words.push_back(line.substr(start, end == std::string::npos ? std::string::npos : end - start));
    at = end == std::string::npos ? line.size() : end;
  }
  return words;
}

// "ssh [args] host" as plain words, IPC::Session's form, without the "ssh"; nullopt otherwise.
std::optional<std::vector<std::string>> ssh_words(const std::string& line) {
  auto words = plain_words(line);
  if (!words || words->size() < 2 || words->front() != "ssh") return std::nullopt;
  words->erase(words->begin());
  return words;
}

transport::ssh_command ssh_command_for_words(std::vector<std::string> words,
                                             const ssh_options& settings) {
  auto command = base_ssh_command(settings);
  command.destination = std::move(words);
  return command;
}

// A POSIX shell run directly, which writes into our pipes itself: its two streams reach us in
// order (protocol::markers::stdout_only). Anything else may be a relay (ssh, docker exec,
// kubectl exec) that reorders them, and gets both markers.
bool is_known_local_shell(const std::vector<std::string>& argv) {
  if (argv.empty()) return false;
  const std::string& program = argv[0];
  const std::string name =
      program.substr(program.rfind('/') == std::string::npos ? 0 : program.rfind('/') + 1);
  if (name == "busybox") return argv.size() > 1 && (argv[1] == "sh" || argv[1] == "ash");
  static constexpr std::string_view shells[] = {"sh",   "dash", "bash", "zsh",  "ksh", "ksh93",
                                                "mksh", "lksh", "ash",  "yash", "posh"};
  return std::find(std::begin(shells), std::end(shells), name) != std::end(shells);
}

// Whether `argv /dev/fd/3` makes this known shell read its commands from that file: only
// option words that neither take the commands elsewhere (-c, -s) nor make it interactive (-i).
bool reads_a_script_argument(const std::vector<std::string>& argv) {
  const std::size_t first = argv.size() > 1 && argv[0].ends_with("busybox") ? 2 : 1;
  for (std::size_t i = first; i < argv.size(); ++i) {
    const std::string& word = argv[i];
    if (word.starts_with("--")) continue;  // --norc, --noprofile, --posix
    if ((word[0] != '-' && word[0] != '+') || word.find_first_of("csi", 1) != std::string::npos) {
      return false;
    }
  }
  return true;
}

std::string describe_command(std::string_view command) {
  constexpr std::size_t shown = 60;
  std::string text(command.substr(0, shown));
  if (command.size() > shown) text += "...";
  return "'" + text + "'";
}

}  // namespace

struct session::impl {
  session_options options;
  std::vector<std::string> argv;
  std::string target;
  std::string shown;  // the shell as the user wrote it, for messages
  seconds timeout;
  std::unique_ptr<transport::transport> channel;
  std::array<std::string, 2> leftovers;
  std::string stale_marker;  // the last command's marker line (see command_run)
  std::vector<pollfd> fds;
  result last;
  std::string ended_because;  // why the shell is gone; empty while it lives
  bool closed = false;

  std::optional<transport::ssh_command> ssh;  // set for sessions over ssh
  bool ordered_streams = false;               // see protocol::markers
  bool commands_on_fd3 = false;               // see protocol::prelude_options

  // Native SSH: the connection the shell's channel lives on; `native_target` set when this
  // session made the connection itself (and so may make it again after it drops).
  std::shared_ptr<ssh::connection::core> native;
  std::optional<transport::ssh_target> native_target;

  impl(std::shared_ptr<ssh::connection::core> connection, session_options opts)
      : options(std::move(opts)), timeout(options.timeout), native(std::move(connection)) {
    target = "ssh+native://" + native->host;
    shown = target;
    start();
  }

  void connect_native() {
    auto connection = std::make_shared<ssh::connection::core>();
    connection->host = native_target->host;
    auto settings = options.native;
    if (!native_target->user.empty()) settings.user = native_target->user;
    if (native_target->port) settings.port = native_target->port;
    ssh::connect_and_login(*connection, settings);
    native = std::move(connection);
  }

  explicit impl(session_options opts) : options(std::move(opts)), timeout(options.timeout) {
    const int given = static_cast<int>(!options.shell_argv.empty()) +
                      static_cast<int>(!options.shell_command.empty()) +
                      static_cast<int>(!options.target.empty());
    if (given > 1) {
      throw error(errc::invalid_argument,
                  "session_options: give one of target, shell_argv and shell_command");
    }
    constexpr std::string_view native_scheme = "ssh+native://";
    if (options.target.starts_with(native_scheme)) {
      std::string why;
      native_target =
          transport::parse_ssh_target("ssh://" + options.target.substr(native_scheme.size()), why);
      if (!native_target) {
        throw error(errc::invalid_argument, "bad target '" + options.target + "': " + why);
      }
      target = options.target;
      shown = options.target;
    } else if (!options.target.empty() && options.target != "local") {
      ssh = ssh_command_for_target(options.target, options.ssh);
      target = options.target;
      shown = options.target;
    } else if (auto words = ssh_words(options.shell_command)) {
      ssh = ssh_command_for_words(std::move(*words), options.ssh);
      target = options.shell_command;
      shown = options.shell_command;
    } else if (!options.shell_command.empty()) {
      argv = argv_for_command_line(options.shell_command);
      target = options.shell_command;
      shown = options.shell_command;
      // "bash --norc" is a shell of its own; "docker exec -i c sh" is a relay.
      const auto shell_words = plain_words(options.shell_command);
      ordered_streams = shell_words && is_known_local_shell(*shell_words);
      if (ordered_streams && reads_a_script_argument(*shell_words)) {
        commands_on_fd3 = true;
        argv.back() += " /dev/fd/3";
      }
    } else {
      argv = options.shell_argv.empty() ? std::vector<std::string>{"/bin/sh"} : options.shell_argv;
      shown = shell_join(argv);
      target = "local:" + shown;
      ordered_streams = is_known_local_shell(argv);
      if (ordered_streams && reads_a_script_argument(argv)) {
        commands_on_fd3 = true;
        argv.push_back("/dev/fd/3");
      }
    }
    start();
  }

  ~impl() { stop(); }
  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;

  void stop() noexcept {
    if (channel) channel->stop(stop_grace_ms);
  }

  // Drive one command to its end with the blocking wait.
  void drive(command_run& run) {
    while (!run.done()) {
      fds.clear();
      const std::size_t count = run.add_poll_fds(fds);
      const auto wait_until =
          channel->ready_now() ? std::optional(clock::now()) : run.next_deadline();
      if (loop::poll_until(fds, wait_until) < 0) {
        throw error(errc::io_failed,
                    std::string("waiting for the shell failed: ") + ::strerror(errno));
      }
      run.advance(fds.data(), count, clock::now());
    }
  }

  // Spawn the shell, define the protocol functions, and check that it answers; then replay the
  // setup commands. Any failure here is start_failed, with what the shell said.
  void start() {
    try {
      start_shell();
    } catch (const error& failure) {
      // Whatever failed, the session is left closed with the reason, never half-started.
      if (channel) channel->stop(0);
      channel.reset();
      ended_because = failure.what();
      throw;
    }
  }

  void start_shell() {
    ended_because.clear();
    leftovers = {};
    stale_marker.clear();
    if (native_target && (!native || ssh_is_connected(native->handle) == 0)) {
      channel.reset();
      connect_native();  // the first time, or again after the connection dropped
    }
    if (native) {
      channel =
          std::make_unique<transport::libssh_channel_transport>(native, options.ssh.remote_shell);
    } else if (ssh) {
      channel = std::make_unique<transport::ssh_transport>(*ssh);
    } else {
      channel = std::make_unique<transport::process_transport>(argv, options.working_directory,
                                                               ordered_streams, commands_on_fd3);
    }
    const command_limits limits{.timeout = to_limit(options.start_timeout),
                                .interrupt_on_timeout = false};
    const auto marker = session_detail::make_nonce();
    std::string line = protocol::prelude({.end_markers = channel->streams_ordered()
                                                             ? protocol::markers::stdout_only
                                                             : protocol::markers::both,
                                          .commands_on_fd3 = channel->commands_on_own_fd()});
    // The shell's own pid: the process group a remote interrupt is sent to.
    line += protocol::encode_command("echo $$", marker);
    command_run handshake(*channel, std::move(line), marker.joined(), limits, leftovers);
    drive(handshake);
    if (handshake.current() != command_run::state::finished) {
      std::string why;
      if (handshake.current() == command_run::state::shell_died) {
        why = "exited during start-up (" + channel->end_description() + ")";
      } else if (handshake.current() == command_run::state::abandoned) {
        why = "did not answer within the start timeout of " +
              std::to_string(options.start_timeout.count()) + " s";
      } else {
        why = "failed during start-up: " + handshake.failure();
      }
      std::string message = "the shell '" + shown + "' " + why;
      const auto& said = handshake.outcome().err;
      if (!said.empty()) message += ": " + said.substr(0, 2000);
      throw error(errc::start_failed, message, handshake.outcome());
    }
    channel->set_shell_pid(last_line_number(handshake.outcome().out));
    for (const auto& setup : options.setup_commands) {
      const result done = execute(setup, run_options{}, /*starting=*/true);
      if (!done.ok()) {
        std::string message = "the setup command " + describe_command(setup) + " failed";
        if (done.exit_status) message += " with status " + std::to_string(*done.exit_status);
        if (done.timed_out) message += " (timed out)";
        if (!done.err.empty()) message += ": " + done.err.substr(0, 2000);
        throw error(errc::start_failed, message, done);
      }
    }
  }

  // `starting`: a setup command of start-up; a shell that must be killed then is a failed
  // start, not a reason to start again (which would replay the same setup for ever).
  result execute(std::string_view command, const run_options& opts, bool starting = false) {
    if (command.find('\0') != std::string_view::npos) {
      throw error(errc::invalid_argument,
                  "a command cannot contain a NUL byte; pass binary data as stdin_data");
    }
    const command_limits limits{
        .timeout = to_limit(opts.timeout.value_or(timeout)),
        .idle_timeout = opts.idle_timeout ? to_limit(*opts.idle_timeout) : std::nullopt,
        .interrupt_grace = std::chrono::duration_cast<clock::duration>(options.interrupt_grace),
        .output_cap = opts.output_cap,
        .on_output = &opts.on_output};
    const auto marker = session_detail::make_nonce();
    command_run run(*channel, protocol::encode_command(command, marker, opts.stdin_data),
                    marker.joined(), limits, leftovers, std::exchange(stale_marker, {}));
    try {
      drive(run);
    } catch (...) {
      // The output callback threw (or waiting failed) mid-command: the command may still be
      // running and printing, so this shell can no longer be trusted to frame the next one.
      ended_because =
          "the session was stopped because a command was abandoned mid-way "
          "(an output callback threw, or waiting for the shell failed)";
      stop();
      throw;
    }

    result done = std::move(run.outcome());
    done.target = target;
    stale_marker = run.marker_line();
    if (done.exit_status) done.exit_status = normalise_status(*done.exit_status);
    switch (run.current()) {
      case command_run::state::finished:
        return done;
      case command_run::state::abandoned:
        // The interrupt did not bring the shell back: kill its group and start afresh, so no
        // process of the command survives and the session stays usable.
        channel->stop(0);
        if (starting) return done;  // the caller reports the failed setup command
        try {
          start();
        } catch (const error& failure) {
          // Keep what the timed-out command produced: the restart's error travels with it.
          done.error = std::string(
                           "the command timed out and ignored the interrupt; starting "
                           "the shell again failed: ") +
                       failure.what();
          throw error(static_cast<errc>(failure.code().value()), done.error, std::move(done));
        }
        done.restarted = true;
        return done;
      case command_run::state::shell_died: {
        ended_because = "the shell " + channel->end_description();
        std::string message = ended_because + " while running " + describe_command(command);
        if (!run.failure().empty()) message += " (" + run.failure() + ")";
        stop();
        done.error = message;
        throw error(errc::shell_exited, message, std::move(done));
      }
      default: {
        ended_because = "the session was stopped after an error: " + run.failure();
        stop();
        done.error = run.failure();
        throw error(errc::protocol_error, run.failure(), std::move(done));
      }
    }
  }

  result run(std::string_view command, const run_options& opts) {
    if (closed) throw error(errc::session_closed, "the session is closed");
    bool restarted = false;
    if (!ended_because.empty()) {
      if (!options.restart_on_death) {
        throw error(
            errc::session_closed,
            ended_because + "; open a new session, or set session_options::restart_on_death");
      }
      start();
      restarted = true;
    }
    result done = execute(command, opts);
    done.restarted = done.restarted || restarted;
    return done;
  }
};

session::session(session_options options) : impl_(std::make_unique<impl>(std::move(options))) {}

session::session(ssh::connection& connection, session_options options) {
  if (!connection.shared_core()) throw error(errc::session_closed, "the connection was moved from");
  if (!options.target.empty()) {
    throw error(errc::invalid_argument, "a session on a connection takes no target");
  }
  impl_ = std::make_unique<impl>(connection.shared_core(), std::move(options));
}

session::session(std::string_view shell_command, seconds timeout)
    : session(session_options{.shell_command = std::string(shell_command), .timeout = timeout}) {}

session::session(session&&) noexcept = default;
session& session::operator=(session&&) noexcept = default;
session::~session() = default;

const result& session::run(std::string_view command, const run_options& options) {
  if (!impl_) throw error(errc::session_closed, "the session was moved from");
  try {
    impl_->last = impl_->run(command, options);
  } catch (const error& failure) {
    impl_->last = failure.partial();
    throw;
  }
  return impl_->last;
}

const result& session::run(std::string_view command, const run_options& options,
                           std::error_code& ec) {
  ec.clear();
  try {
    return run(command, options);
  } catch (const error& failure) {
    ec = failure.code();
    if (impl_) {
      if (impl_->last.error.empty()) impl_->last.error = failure.what();
      return impl_->last;
    }
    static thread_local result moved_from;
    moved_from = failure.partial();
    moved_from.error = failure.what();
    return moved_from;
  }
}

const result& session::run_argv(std::initializer_list<std::string_view> argv,
                                const run_options& options) {
  return run(shell_join(argv), options);
}

const result& session::run_argv(const std::vector<std::string>& argv, const run_options& options) {
  return run(shell_join(argv), options);
}

const result& session::last() const {
  static const result none;
  return impl_ ? impl_->last : none;
}

void session::set_timeout(seconds timeout) {
  if (impl_) impl_->timeout = timeout;
}

seconds session::timeout() const {
  return impl_ ? impl_->timeout : seconds{0};
}

bool session::alive() const {
  return impl_ && !impl_->closed && impl_->channel && impl_->ended_because.empty();
}

const std::string& session::target() const {
  static const std::string none;
  return impl_ ? impl_->target : none;
}

int session::shell_pid() const {
  return alive() ? impl_->channel->pid() : -1;
}

void session::close() noexcept {
  if (!impl_) return;
  impl_->stop();
  impl_->closed = true;
}

}  // namespace tether
