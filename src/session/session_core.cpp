#include "session/session_core.hpp"

#include <errno.h>
#include <poll.h>
#include <string.h>

#include <utility>

#include "loop/poll_wait.hpp"
#include "protocol/command_encoder.hpp"
#include "protocol/handshake.hpp"
#include "session/nonce.hpp"
#include "session/shell_launch.hpp"
#include "tether/quote.hpp"
#include "transport/libssh_channel_transport.hpp"
#include "transport/libssh_connection.hpp"
#include "transport/libssh_nonblocking.hpp"
#include "transport/process_transport.hpp"

namespace tether::session_detail {

namespace {

// Takes the output of a shell that no command waits for any more.
class discarding_sink final : public transport::byte_sink {
 public:
  discarding_sink() = default;
  discarding_sink(const discarding_sink&) = delete;
  discarding_sink& operator=(const discarding_sink&) = delete;
  ~discarding_sink() = default;
  void on_bytes(output_stream, std::string_view) override {}
};

// How long the stop ladder lets a shell exit on its own after its stdin is closed.
constexpr int stop_grace_ms = 100;

}  // namespace

session_core::session_core(std::shared_ptr<ssh::connection::core> connection,
                           session_options options)
    : options_(std::move(options)), timeout_(options_.timeout), native_(std::move(connection)) {
  target_ = "ssh+native://" + native_->host;
  shown_ = target_;
}

session_core::session_core(session_options options)
    : options_(std::move(options)), timeout_(options_.timeout) {
  const int given = static_cast<int>(!options_.shell_argv.empty()) +
                    static_cast<int>(!options_.shell_command.empty()) +
                    static_cast<int>(!options_.target.empty());
  if (given > 1) {
    throw error(errc::invalid_argument,
                "session_options: give one of target, shell_argv and shell_command");
  }
  constexpr std::string_view native_scheme = "ssh+native://";
  if (options_.target.starts_with(native_scheme)) {
    std::string why;
    native_target_ =
        transport::parse_ssh_target("ssh://" + options_.target.substr(native_scheme.size()), why);
    if (!native_target_) {
      throw error(errc::invalid_argument, "bad target '" + options_.target + "': " + why);
    }
    target_ = options_.target;
    shown_ = options_.target;
  } else if (!options_.target.empty() && options_.target != "local") {
    ssh_ = ssh_command_for_target(options_.target, options_.ssh);
    target_ = options_.target;
    shown_ = options_.target;
  } else if (auto words = ssh_words(options_.shell_command)) {
    ssh_ = ssh_command_for_words(std::move(*words), options_.ssh);
    target_ = options_.shell_command;
    shown_ = options_.shell_command;
  } else if (!options_.shell_command.empty()) {
    argv_ = argv_for_command_line(options_.shell_command);
    target_ = options_.shell_command;
    shown_ = options_.shell_command;
    // "bash --norc" is a shell of its own; "docker exec -i c sh" is a relay.
    const auto shell_words = plain_words(options_.shell_command);
    ordered_streams_ = shell_words && is_known_local_shell(*shell_words);
    if (ordered_streams_ && reads_a_script_argument(*shell_words)) {
      commands_on_fd3_ = true;
      argv_.back() += " /dev/fd/3";
    }
  } else {
    argv_ = options_.shell_argv.empty() ? std::vector<std::string>{"/bin/sh"} : options_.shell_argv;
    shown_ = shell_join(argv_);
    target_ = "local:" + shown_;
    ordered_streams_ = is_known_local_shell(argv_);
    if (ordered_streams_ && reads_a_script_argument(argv_)) {
      commands_on_fd3_ = true;
      argv_.push_back("/dev/fd/3");
    }
  }
}

session_core::~session_core() {
  close();
}

namespace {

// An interrupt descriptor that shows these has fired: readable, or its writers gone. POLLNVAL
// is no request (a closed descriptor).
bool asks_for_interrupt(short revents) {
  return (revents & (POLLIN | POLLHUP | POLLERR)) != 0;
}

// A shell's stderr quoted in an error message: its start, without the final newline, which
// would end the message's line early wherever it is printed.
std::string what_it_said(const std::string& err) {
  std::string_view text(err);
  text = text.substr(0, 2000);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  return std::string(text);
}

}  // namespace

// ---- start-up: [connect] -> handshake -> setup commands -> ready

void session_core::begin_start() {
  ended_because_.clear();
  leftovers_ = {};
  stale_marker_.clear();
  try {
    if (native_target_ && (!native_ || ssh_is_connected(native_->handle) == 0)) {
      // The first time, or again after the connection dropped.
      begin_connect();
    } else if (native_) {
      begin_opening();
    } else {
      create_channel();
      begin_handshake();
    }
  } catch (const error& failure) {
    fail_start(failure);
  }
}

void session_core::begin_connect() {
  channel_.reset();
  native_.reset();
  ++generation_;
  connecting_ = std::make_shared<ssh::connection::core>();
  connecting_->host = native_target_->host;
  auto settings = options_.native;
  if (!native_target_->user.empty()) settings.user = native_target_->user;
  if (native_target_->port) settings.port = native_target_->port;
  phase_ = phase::connecting;
  login_ = std::make_unique<ssh::login>(*connecting_, std::move(settings));
  advance_connecting(clock::now());  // the first step opens the socket to wait on
}

void session_core::begin_opening() {
  ++generation_;
  phase_ = phase::connecting;
  opening_deadline_.reset();
  if (const auto limit = to_limit(options_.start_timeout))
    opening_deadline_ = clock::now() + *limit;
  opening_ = std::make_unique<transport::libssh_shell_opening>(native_, options_.ssh.remote_shell);
  advance_connecting(clock::now());
}

// Throws what the steps throw; the callers turn it into the start's failure.
void session_core::advance_connecting(clock::time_point now) {
  if (login_) {
    const int fd_before = login_->wanted().fd;
    if (!login_->advance(now)) {
      if (login_->wanted().fd != fd_before) ++generation_;
      return;
    }
    login_.reset();
    native_ = std::move(connecting_);
    begin_opening();
    return;
  }
  if (!opening_) return;
  if (!opening_->advance()) {
    if (opening_deadline_ && now >= *opening_deadline_) {
      throw error(errc::start_failed, "cannot start a shell on " + native_->display +
                                          ": the server did not open a channel within the start "
                                          "timeout of " +
                                          std::to_string(options_.start_timeout.count()) + " s");
    }
    return;
  }
  channel_ = opening_->take();
  opening_.reset();
  begin_handshake();
}

void session_core::create_channel() {
  ++generation_;
  if (ssh_) {
    channel_ = std::make_unique<transport::ssh_transport>(*ssh_);
  } else {
    channel_ = std::make_unique<transport::process_transport>(argv_, options_.working_directory,
                                                              ordered_streams_, commands_on_fd3_);
  }
}

// Define the protocol functions and check that the shell answers.
void session_core::begin_handshake() {
  ++generation_;
  const command_limits limits{.timeout = to_limit(options_.start_timeout),
                              .interrupt_on_timeout = false};
  const auto marker = make_nonce();
  std::string line =
      protocol::prelude({.end_markers = channel_->streams_ordered() ? protocol::markers::stdout_only
                                                                    : protocol::markers::both,
                         .commands_on_fd3 = channel_->commands_on_own_fd()});
  line += protocol::encode_command(protocol::handshake_command, marker);
  run_.emplace(*channel_, std::move(line), marker.joined(), limits, leftovers_);
  phase_ = phase::handshake;
}

void session_core::handshake_done() {
  const auto state = run_->current();
  if (state != command_run::state::finished) {
    std::string why;
    if (state == command_run::state::shell_died) {
      why = "exited during start-up (" + channel_->end_description() + ")";
    } else if (state == command_run::state::abandoned) {
      why = "did not answer within the start timeout of " +
            std::to_string(options_.start_timeout.count()) + " s";
    } else {
      why = "failed during start-up: " + run_->failure();
    }
    std::string message = "the shell '" + shown_ + "' " + why;
    const auto& said = run_->outcome().err;
    if (const auto text = what_it_said(said); !text.empty()) message += ": " + text;
    fail_start(error(errc::start_failed, message, run_->outcome()));
    return;
  }
  const auto facts = protocol::read_handshake(run_->outcome().out);
  // zsh may print this marker line again if a SIGINT meets the first command (see command_run).
  stale_marker_ = run_->marker_line();
  channel_->set_shell_pid(facts.pid);
  line_style_ = {.end_markers = channel_->streams_ordered() ? protocol::markers::stdout_only
                                                            : protocol::markers::both,
                 .bash = facts.bash,
                 .commands_on_stdin = !channel_->commands_on_own_fd()};
  setup_index_ = 0;
  next_setup();
}

// Setup commands run after start-up and after every restart; their output is discarded, and a
// failing one fails the start.
void session_core::next_setup() {
  if (setup_index_ == options_.setup_commands.size()) {
    start_complete();
    return;
  }
  start_command(options_.setup_commands[setup_index_], run_options{});
  phase_ = phase::setup;
}

void session_core::setup_done() {
  const std::string setup = options_.setup_commands[setup_index_];
  command_done();  // turns the run into an outcome, as for any command
  auto [done, failure] = take_outcome();
  if (failure) {
    fail_start(*failure);
    return;
  }
  if (!done.ok()) {
    std::string message = "the setup command " + describe_command(setup) + " failed";
    if (done.exit_status) message += " with status " + std::to_string(*done.exit_status);
    if (done.timed_out) message += " (timed out)";
    if (const auto text = what_it_said(done.err); !text.empty()) message += ": " + text;
    fail_start(error(errc::start_failed, message, done));
    return;
  }
  ++setup_index_;
  next_setup();
}

void session_core::start_complete() {
  if (abandoned_) {
    result done = std::move(*abandoned_);
    abandoned_.reset();
    done.restarted = true;
    finish(std::move(done));
  } else if (queued_) {
    auto queued = std::move(*queued_);
    queued_.reset();
    restarting_for_run_ = true;
    if (interrupt_requested_) {
      finish(interrupted_before_sending());  // asked while the shell was being started again
      return;
    }
    start_command(queued.command, queued.options);
  } else {
    finish(result{});
  }
}

void session_core::fail_start(const error& failure) {
  // Whatever failed, the session is left closed with the reason, never half-started.
  run_.reset();
  login_.reset();
  connecting_.reset();
  opening_.reset();
  if (channel_) channel_->stop(0);
  channel_.reset();
  ++generation_;
  ended_because_ = failure.what();
  queued_.reset();
  if (abandoned_) {
    // Keep what the interrupted command produced: the restart's error travels with it.
    result done = std::move(*abandoned_);
    abandoned_.reset();
    done.error = std::string(done.timed_out ? "the command timed out and ignored the interrupt"
                                            : "the command ignored the interrupt") +
                 "; starting the shell again failed: " + failure.what();
    const std::string message = done.error;
    finish(done, error(static_cast<errc>(failure.code().value()), message, done));
    return;
  }
  finish(failure.partial(), failure);
}

// ---- commands

void session_core::begin_command(std::string_view command, const run_options& options) {
  if (closed_) throw error(errc::session_closed, "the session is closed");
  if (busy()) throw error(errc::invalid_argument, "the session is busy with another operation");
  if (command.find('\0') != std::string_view::npos) {
    throw error(errc::invalid_argument,
                "a command cannot contain a NUL byte; pass binary data as stdin_data");
  }
  restarting_for_run_ = false;
  interrupt_fd_fired_ = false;
  interrupt_requested_ = false;
  const bool dead = !ended_because_.empty();
  if (dead && !options_.restart_on_death) {
    throw error(errc::session_closed,
                ended_because_ + "; open a new session, or set session_options::restart_on_death");
  }
  if (!dead && !channel_) throw error(errc::session_closed, "the session has not been started");
  if (options.interrupt_fd >= 0) {
    // Readable already (a Ctrl-C just before this call): the command is not sent at all.
    pollfd now{options.interrupt_fd, POLLIN, 0};
    ::poll(&now, 1, 0);
    if ((now.revents & POLLNVAL) != 0) {
      throw error(errc::invalid_argument, "run_options::interrupt_fd " +
                                              std::to_string(options.interrupt_fd) +
                                              " is not an open descriptor");
    }
    if (asks_for_interrupt(now.revents)) {
      interrupt_fd_fired_ = true;
      interrupt_requested_ = true;
      finish(interrupted_before_sending());
      return;
    }
  }
  if (dead) {
    queued_ = queued_command{std::string(command), options};
    begin_start();
    return;
  }
  start_command(command, options);
}

void session_core::start_command(std::string_view command, const run_options& options) {
  command_options_ = options;
  command_ = command;
  const command_limits limits{
      .timeout = to_limit(options.timeout.value_or(timeout_)),
      .idle_timeout = options.idle_timeout ? to_limit(*options.idle_timeout) : std::nullopt,
      .interrupt_grace = std::chrono::duration_cast<clock::duration>(options_.interrupt_grace),
      .output_cap = options.output_cap,
      .on_output = &command_options_.on_output};
  const auto marker = make_nonce();
  // One buffer for all the session's command lines: a fresh allocation per command cost more
  // than anything else Tether does per command (its memory is cold after the shell ran).
  std::string line = std::move(spare_line_);
  line.clear();
  protocol::encode_command_into(line, command, marker, command_options_.stdin_data, line_style_);
  run_.emplace(*channel_, std::move(line), marker.joined(), limits, leftovers_,
               std::exchange(stale_marker_, {}));
  phase_ = phase::command;
}

void session_core::interrupt() {
  if (queued_) interrupt_requested_ = true;  // waiting for a restart: it will not be sent
  if (phase_ == phase::command && run_) run_->interrupt(clock::now());
  note_closed_descriptors();
}

void session_core::command_done() {
  result done = std::move(run_->outcome());
  done.target = target_;
  stale_marker_ = run_->marker_line();
  if (done.exit_status) done.exit_status = normalise_status(*done.exit_status);
  done.restarted = done.restarted || restarting_for_run_;
  const auto state = run_->current();
  const std::string why = run_->failure();
  spare_line_ = run_->take_line();
  run_.reset();
  switch (state) {
    case command_run::state::finished:
      finish(std::move(done));
      return;
    case command_run::state::abandoned:
      // The interrupt did not bring the shell back: kill its group and start afresh, so no
      // process of the command survives and the session stays usable.
      if (phase_ == phase::setup) {
        channel_->stop(0);
        ++generation_;
        finish(std::move(done));  // setup_done reports the failed setup command
        return;
      }
      abandoned_ = std::move(done);
      begin_stopping();
      return;
    case command_run::state::shell_died: {
      ended_because_ = "the shell " + channel_->end_description();
      std::string message = ended_because_ + " while running " + describe_command(command_);
      if (!why.empty()) message += " (" + why + ")";
      stop();
      done.error = message;
      finish(done, error(errc::shell_exited, message, done));
      return;
    }
    default: {
      ended_because_ = "the session was stopped after an error: " + why;
      stop();
      done.error = why;
      finish(done, error(errc::protocol_error, why, done));
      return;
    }
  }
}

// The kill of a remote group travels over the (perhaps stuck) link: sent, then waited for by
// the loop like any other event, so that a fleet's other sessions go on meanwhile.
void session_core::begin_stopping() {
  channel_->begin_kill();
  note_closed_descriptors();
  phase_ = phase::stopping;
  if (!channel_->interrupt_in_flight()) finish_stopping();
}

void session_core::finish_stopping() {
  channel_->stop(0);
  ++generation_;
  if (abandoned_ && interrupt_requested_) {
    // The caller asked for this interrupt (run_options::interrupt_fd) and waits for it: no new
    // shell now (over SSH a new connection, over a dead link up to start_timeout). The next
    // run() starts one if restart_on_death is set.
    ended_because_ = "the command ignored the interrupt and was killed, and its shell with it";
    result done = std::move(*abandoned_);
    abandoned_.reset();
    finish(std::move(done));
    return;
  }
  begin_start();
}

void session_core::finish(result value, std::optional<error> failure) {
  phase_ = phase::idle;
  outcome_ = outcome{std::move(value), std::move(failure)};
}

session_core::outcome session_core::take_outcome() {
  return std::exchange(outcome_, outcome{});
}

// ---- driving

std::size_t session_core::add_poll_fds(std::vector<pollfd>& fds) const {
  if (phase_ == phase::stopping) return channel_->add_poll_fds(fds, false);
  if (login_) {
    fds.push_back(login_->wanted());
    return 1;
  }
  if (opening_) {
    fds.push_back(ssh::socket_wait(native_->handle));
    return 1;
  }
  return run_ ? run_->add_poll_fds(fds) : 0;
}

std::optional<clock::time_point> session_core::next_deadline() const {
  if (login_) return login_->deadline();
  if (opening_) return opening_deadline_;
  if (!run_ && phase_ != phase::stopping) return std::nullopt;
  // Due already (the epoch, not now(): a caller comparing with its own earlier `now` must see
  // it as due).
  if (channel_ && channel_->ready_now()) return clock::time_point{};
  auto soonest =
      phase_ == phase::stopping ? channel_->interrupt_in_flight() : run_->next_deadline();
  if (const auto check = channel_ ? channel_->next_check() : std::nullopt) {
    if (!soonest || *check < *soonest) soonest = check;
  }
  return soonest;
}

void session_core::advance(const pollfd* mine, std::size_t count, clock::time_point now) {
  advance_phase(mine, count, now);
  note_closed_descriptors();
}

// A transport that closed a descriptor of its own (a helper's pidfd) may have opened another
// with the same number since: the owner's registrations must then be made afresh.
void session_core::note_closed_descriptors() {
  const std::uint64_t closed = channel_ ? channel_->closed_descriptors() : 0;
  if (closed != closed_seen_) {
    closed_seen_ = closed;
    ++generation_;
  }
}

void session_core::advance_phase(const pollfd* mine, std::size_t count, clock::time_point now) {
  if (phase_ == phase::stopping) {
    // The abandoned shell's last output has no command to go to.
    discarding_sink discard;
    channel_->on_ready(mine, count, discard);
    const auto until = channel_->interrupt_in_flight();
    if (!until || now >= *until) finish_stopping();
    return;
  }
  if (phase_ == phase::connecting) {
    try {
      advance_connecting(now);
    } catch (const error& failure) {
      fail_start(failure);
    }
    return;
  }
  if (!run_) return;
  try {
    run_->advance(mine, count, now);
  } catch (...) {
    abandon(
        "the session was stopped because a command was abandoned mid-way (an output callback "
        "threw)");
    throw;
  }
  if (!run_->done()) return;
  switch (phase_) {
    case phase::handshake:
      handshake_done();
      break;
    case phase::setup:
      setup_done();
      break;
    default:
      command_done();
      break;
  }
}

void session_core::drive() {
  while (busy()) {
    fds_.clear();
    const std::size_t count = add_poll_fds(fds_);
    const int interrupt_fd = watched_interrupt_fd();
    if (interrupt_fd >= 0) fds_.push_back({interrupt_fd, POLLIN, 0});
    // The caller's interrupt descriptor may be closed and its number reused between waits:
    // not one for a lasting registration.
    const int waited = interrupt_fd >= 0 ? loop::poll_until(fds_, next_deadline())
                                         : waits_.wait(fds_, next_deadline(), generation_);
    if (waited < 0) {
      const std::string why = std::string("waiting for the shell failed: ") + ::strerror(errno);
      abandon("the session was stopped because " + why);
      throw error(errc::io_failed, why);
    }
    if (interrupt_fd >= 0 && fds_[count].revents != 0) {
      interrupt_fd_fired_ = true;
      // POLLNVAL (the caller closed it meanwhile) only ends the watch. A command waiting for a
      // restart is not sent (start_complete); a setup command running then is left to finish.
      if (asks_for_interrupt(fds_[count].revents)) {
        interrupt_requested_ = true;
        if (phase_ == phase::command) interrupt();
      }
    }
    advance(fds_.data(), count, clock::now());
  }
}

// The caller's interrupt descriptor while their command runs or waits for a restart of the
// shell, until it first fires; else -1.
int session_core::watched_interrupt_fd() const {
  if (interrupt_fd_fired_) return -1;
  if (phase_ == phase::command && run_) return command_options_.interrupt_fd;
  if (queued_) return queued_->options.interrupt_fd;
  return -1;
}

// The result of a command whose interrupt descriptor fired before it was sent: as if the shell
// had been interrupted at once (130), nothing run.
result session_core::interrupted_before_sending() const {
  result done;
  done.exit_status = 130;
  done.target = target_;
  done.restarted = restarting_for_run_;
  return done;
}

void session_core::abandon(const std::string& why) noexcept {
  ended_because_ = why;
  drop_operation();
}

// End whatever is under way, and the shell with it.
void session_core::drop_operation() noexcept {
  run_.reset();
  queued_.reset();
  abandoned_.reset();
  login_.reset();
  connecting_.reset();
  opening_.reset();
  stop();
  phase_ = phase::idle;
}

void session_core::stop() noexcept {
  if (channel_) channel_->stop(stop_grace_ms);
  ++generation_;
}

bool session_core::alive() const {
  return !closed_ && channel_ && ended_because_.empty() && phase_ != phase::connecting;
}

int session_core::shell_pid() const {
  return alive() ? channel_->pid() : -1;
}

void session_core::close() noexcept {
  drop_operation();
  closed_ = true;
}

}  // namespace tether::session_detail
