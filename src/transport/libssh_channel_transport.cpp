#include "transport/libssh_channel_transport.hpp"

#include <poll.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <span>

#include "loop/poll_wait.hpp"
#include "tether/error.hpp"
#include "transport/libssh_nonblocking.hpp"

namespace tether::transport {

namespace {

constexpr std::size_t read_size = 256 * 1024;

char* read_buffer() {
  thread_local std::unique_ptr<char[]> buffer(new char[read_size]);
  return buffer.get();
}

void note_exit_signal(ssh_session, ssh_channel, const char* signal, int core, const char* message,
                      const char*, void* userdata) {
  auto* out = static_cast<ssh::exec_result*>(userdata);
  out->exit_signal = signal != nullptr ? signal : "";
  out->core_dumped = core != 0;
  out->signal_message = message != nullptr ? message : "";
}

void note_session_signal(ssh_session, ssh_channel, const char* signal, int, const char*,
                         const char*, void* userdata) {
  *static_cast<std::string*>(userdata) = signal != nullptr ? signal : "";
}

}  // namespace

libssh_channel_transport::libssh_channel_transport(
    std::shared_ptr<ssh::connection::core> connection, ssh_channel running_shell)
    : connection_(std::move(connection)), channel_(running_shell) {
  ssh_callbacks_init(&callbacks_);
  callbacks_.userdata = &exit_signal_;
  callbacks_.channel_exit_signal_function = note_session_signal;
  ssh_set_channel_callbacks(channel_, &callbacks_);
}

libssh_channel_transport::~libssh_channel_transport() {
  stop(0);
}

std::size_t libssh_channel_transport::add_poll_fds(std::vector<pollfd>& fds, bool) const {
  const bool waiting = !ended_ || !interrupts_.empty();
  fds.push_back(waiting ? ssh::socket_wait(connection_->handle) : pollfd{-1, 0, 0});
  return 1;
}

void libssh_channel_transport::read_available(byte_sink& sink) {
  if (channel_ == nullptr || ended_) return;
  char* buffer = read_buffer();
  for (int is_stderr = 0; is_stderr < 2; ++is_stderr) {
    for (;;) {
      const int got = ssh_channel_read_nonblocking(channel_, buffer, read_size, is_stderr);
      if (got > 0) {
        sink.on_bytes(is_stderr != 0 ? output_stream::err : output_stream::out,
                      std::string_view(buffer, static_cast<std::size_t>(got)));
        continue;
      }
      if (got == SSH_ERROR) {
        lost_ = ssh_get_error(connection_->handle);
        ended_ = true;
        return;
      }
      break;  // 0: nothing more now; SSH_EOF: the stream ended
    }
  }
  if (ssh_channel_is_eof(channel_) != 0 || ssh_channel_is_closed(channel_) != 0 ||
      ssh_is_connected(connection_->handle) == 0) {
    ended_ = true;
    if (ssh_is_connected(connection_->handle) == 0 && lost_.empty()) {
      lost_ = ssh_get_error(connection_->handle);
    }
  }
}

void libssh_channel_transport::on_ready(const pollfd*, std::size_t, byte_sink& sink) {
  side_ended_ = false;
  advance_interrupts();
  read_available(sink);
  // Reading may have taken in the interrupts' answers too.
  advance_interrupts();
}

bool libssh_channel_transport::advance_interrupts() const {
  connection_->advance_lingering();
  auto ended =
      std::erase_if(interrupts_, [](const auto& pending) { return pending.side->advance(); });
  if (!interrupts_.empty() && interrupts_until_ &&
      std::chrono::steady_clock::now() >= *interrupts_until_) {
    // Given up (the command then ends with what it has): what is still on its way must not
    // arrive during the next command.
    ended += interrupts_.size();
    let_go_of_interrupts();
  }
  if (interrupts_.empty()) interrupts_until_.reset();
  if (ended > 0) side_ended_ = true;
  return ended > 0;
}

// Signals still on their way go to the connection, which sees them settled (see
// connection::core::linger).
void libssh_channel_transport::let_go_of_interrupts() const {
  for (auto& pending : interrupts_)
    connection_->linger(std::move(pending.side), pending.harmful_late);
  interrupts_.clear();
}

// Any read on the connection (this shell's, or another session's on the same connection) may
// have taken in an answer for a side channel: its next step is due now, not at the next
// wake-up of the socket, which that read has emptied.
bool libssh_channel_transport::ready_now() const {
  if (channel_ == nullptr) return false;
  // An interrupt that has arrived is news for the command (it may be over now) until on_ready
  // has passed it on: a caller that asks twice before advancing must hear it twice.
  if (side_ended_) return true;
  if (!interrupts_.empty() && advance_interrupts()) return true;
  if (!ended_ && (ssh_channel_poll(channel_, 0) != 0 || ssh_channel_poll(channel_, 1) != 0)) {
    return true;
  }
  // Those polls may have read the socket too.
  return !interrupts_.empty() && advance_interrupts();
}

// Every call that reads the socket takes in packets for all channels; the side channels' steps
// cannot all be ordered after every such read (each step reads too). While any is under way, the
// loop looks again every few milliseconds rather than trust the socket to wake it.
std::optional<std::chrono::steady_clock::time_point> libssh_channel_transport::next_check() const {
  if (interrupts_.empty() && connection_->lingering.empty()) return std::nullopt;
  return std::chrono::steady_clock::now() + side_channel_check;
}

std::optional<std::chrono::steady_clock::time_point> libssh_channel_transport::interrupt_in_flight()
    const {
  return interrupts_until_;
}

void libssh_channel_transport::drain(byte_sink& sink, int) {
  const bool was_ended = ended_;
  ended_ = false;
  read_available(sink);
  ended_ = ended_ || was_ended;
}

std::size_t libssh_channel_transport::write_some(std::string_view bytes, std::error_code& ec) {
  if (channel_ == nullptr || ended_) {
    ec = std::make_error_code(std::errc::broken_pipe);
    return 0;
  }
  // libssh writes whole buffers, waiting for window space; command lines are short.
  const int put = ssh_channel_write(channel_, bytes.data(), static_cast<uint32_t>(bytes.size()));
  if (put == SSH_ERROR) {
    lost_ = ssh_get_error(connection_->handle);
    ec = std::make_error_code(std::errc::broken_pipe);
    return 0;
  }
  return static_cast<std::size_t>(put);
}

std::string libssh_channel_transport::end_description() const {
  if (!lost_.empty()) return "lost its connection (" + lost_ + ")";
  // This waits for the exit-status or exit-signal message (or the close), processing what
  // arrives: only after it is the signal, if any, known.
  const int status = channel_ != nullptr ? ssh_channel_get_exit_status(channel_) : -1;
  if (!exit_signal_.empty()) return "was killed by signal SIG" + exit_signal_;
  if (status >= 0) return "exited with status " + std::to_string(status);
  return "ended (its channel closed without an exit status)";
}

std::string libssh_channel_transport::kill_command(const char* signal_name) const {
  return "exec /bin/sh -c 'kill -" + std::string(signal_name) + " -" + std::to_string(remote_pid_) +
         "'";
}

// Sent on a side channel whose steps the loop takes with the shell's own reads: a slow link
// holds up only this session, which waits for the SIGINT to arrive before its command is over.
void libssh_channel_transport::interrupt() {
  send_signal("INT");
}

void libssh_channel_transport::begin_kill() {
  if (kill_sent_) return;
  kill_sent_ = true;
  send_signal("KILL");
}

void libssh_channel_transport::send_signal(const char* signal_name) {
  if (ended_ || remote_pid_ <= 0 || ssh_is_connected(connection_->handle) == 0) return;
  // A late KILL finds the group it was meant for or none (the shell is being replaced); a
  // late INT could find the next command.
  interrupts_.push_back(
      {std::make_unique<libssh_side_command>(connection_->handle, kill_command(signal_name)),
       std::string_view(signal_name) != "KILL"});
  // As for a helper ssh (ssh_transport): a signal that has not arrived in this time is given
  // up, and the command then ends with what it has.
  interrupts_until_ = std::chrono::steady_clock::now() + interrupt_give_up;
  advance_interrupts();
}

void libssh_channel_transport::stop(int) noexcept {
  if (stopped_ || channel_ == nullptr) return;
  stopped_ = true;
  let_go_of_interrupts();
  interrupts_until_.reset();
  if (!ended_ && !kill_sent_ && remote_pid_ > 0 && ssh_is_connected(connection_->handle) != 0) {
    // No process of the shell may outlive the session: wait (a bounded time) for the kill.
    try {
      auto kill = std::make_unique<libssh_side_command>(connection_->handle, kill_command("KILL"));
      const auto until = std::chrono::steady_clock::now() + interrupt_give_up;
      while (!kill->advance()) {
        pollfd socket = ssh::socket_wait(connection_->handle);
        if (loop::poll_until(std::span(&socket, 1), until) <= 0) {
          connection_->linger(std::move(kill), false);  // late is still useful
          break;
        }
      }
    } catch (...) {
    }
  }
  if (ssh_is_connected(connection_->handle) != 0) {
    ssh_channel_send_eof(channel_);
    ssh_channel_close(channel_);
  }
  // libssh keeps a channel the server has not closed yet, and would still call its callbacks
  // (with our userdata, freed by then) when its last messages arrive.
  ssh_remove_channel_callbacks(channel_, &callbacks_);
  ssh_channel_free(channel_);
  channel_ = nullptr;
  ended_ = true;
}

ssh::exec_result run_exec(ssh::connection::core& connection, std::string_view command,
                          const ssh::exec_options& options) {
  using clock = std::chrono::steady_clock;
  const auto started = clock::now();
  ssh::exec_result done;
  done.target = "ssh+native://" + connection.host;
  // A connection used only for execs now still lets go of the side channels its sessions left.
  connection.advance_lingering();
  ssh_channel channel = ssh_channel_new(connection.handle);
  if (channel == nullptr || ssh_channel_open_session(channel) != SSH_OK) {
    const std::string why = ssh_get_error(connection.handle);
    if (channel != nullptr) ssh_channel_free(channel);
    throw error(errc::io_failed, "cannot open a channel on " + connection.display + ": " + why);
  }
  ssh_channel_callbacks_struct callbacks{};
  // Frees the channel on every way out, callbacks first: they point into this frame, and
  // libssh may keep the channel (and call them) until the server closes it.
  const auto release = [&callbacks](ssh_channel_struct* doomed) {
    ssh_remove_channel_callbacks(doomed, &callbacks);
    ssh_channel_free(doomed);
  };
  const std::unique_ptr<ssh_channel_struct, decltype(release)> owner(channel, release);
  ssh_callbacks_init(&callbacks);
  callbacks.userdata = &done;
  callbacks.channel_exit_signal_function = note_exit_signal;
  ssh_set_channel_callbacks(channel, &callbacks);

  for (const auto& [name, value] : options.env) {
    if (ssh_channel_request_env(channel, name.c_str(), value.c_str()) != SSH_OK) {
      throw error(errc::invalid_argument,
                  "the server refused to set the environment variable " + name +
                      " (sshd accepts only the names its AcceptEnv lists); pass it in the "
                      "command instead: " +
                      name + "=... command");
    }
  }
  if (options.pty_terminal &&
      ssh_channel_request_pty_size(channel, options.pty_terminal->c_str(), 80, 24) != SSH_OK) {
    throw error(errc::io_failed,
                "the server refused a pty: " + std::string(ssh_get_error(connection.handle)));
  }
  const std::string text(command);
  if (ssh_channel_request_exec(channel, text.c_str()) != SSH_OK) {
    throw error(errc::io_failed, "cannot run the command on " + connection.display + ": " +
                                     ssh_get_error(connection.handle));
  }
  if (options.stdin_data && !options.stdin_data->empty()) {
    ssh_channel_write(channel, options.stdin_data->data(),
                      static_cast<uint32_t>(options.stdin_data->size()));
  }
  ssh_channel_send_eof(channel);

  std::optional<clock::time_point> deadline;
  if (options.timeout && options.timeout->count() > 0) {
    deadline = started + std::chrono::duration_cast<clock::duration>(*options.timeout);
  }
  char* buffer = read_buffer();
  while (ssh_channel_is_eof(channel) == 0 && ssh_channel_is_closed(channel) == 0) {
    bool got_any = false;
    for (int is_stderr = 0; is_stderr < 2; ++is_stderr) {
      const int got = ssh_channel_read_nonblocking(channel, buffer, read_size, is_stderr);
      if (got > 0) {
        (is_stderr != 0 ? done.err : done.out).append(buffer, static_cast<std::size_t>(got));
        got_any = true;
      } else if (got == SSH_ERROR) {
        done.error = "the connection failed: " + std::string(ssh_get_error(connection.handle));
        done.duration = clock::now() - started;
        throw error(errc::shell_exited, done.error, done);
      }
    }
    if (got_any) continue;
    // The read that brought the last data often brought the end of file too: check before
    // sleeping, or every exec would wait out a poll for data that will never come.
    if (ssh_channel_is_eof(channel) != 0 || ssh_channel_is_closed(channel) != 0) break;
    if (deadline && clock::now() >= *deadline) {
      done.timed_out = true;
      break;
    }
    pollfd socket{ssh_get_fd(connection.handle), POLLIN, 0};
    ::poll(&socket, 1, 50);
  }
  if (!done.timed_out) {
    // What arrived together with the end of file.
    for (int is_stderr = 0; is_stderr < 2; ++is_stderr) {
      int got = 0;
      while ((got = ssh_channel_read_nonblocking(channel, buffer, read_size, is_stderr)) > 0) {
        (is_stderr != 0 ? done.err : done.out).append(buffer, static_cast<std::size_t>(got));
      }
    }
    const int status = ssh_channel_get_exit_status(channel);
    if (status >= 0 && done.exit_signal.empty()) done.exit_status = status;
  }
  ssh_channel_close(channel);
  done.duration = clock::now() - started;
  return done;
}

}  // namespace tether::transport
