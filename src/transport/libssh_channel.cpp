// tether::ssh::channel: ssh2's Channel on libssh, kept thin on purpose.
#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <poll.h>

#include <chrono>

#include "tether/error.hpp"
#include "tether/ssh_channel.hpp"
#include "transport/libssh_connection.hpp"

namespace tether::ssh {

struct channel::impl {
  std::shared_ptr<connection::core> link;
  ssh_channel handle = nullptr;
  ssh_channel_callbacks_struct callbacks{};
  std::optional<int> status;
  std::string signal;
  bool core = false;

  [[nodiscard]] std::string why() const { return ssh_get_error(link->handle); }

  void require(int outcome, errc code, const std::string& what) const {
    if (outcome != SSH_OK) throw error(code, what + " on " + link->display + ": " + why());
  }
};

namespace {

void on_exit_status(ssh_session, ssh_channel, int status, void* userdata) {
  static_cast<channel::impl*>(userdata)->status = status;
}

void on_exit_signal(ssh_session, ssh_channel, const char* signal, int core, const char*,
                    const char*, void* userdata) {
  auto* state = static_cast<channel::impl*>(userdata);
  state->signal = signal != nullptr ? signal : "";
  state->core = core != 0;
}

std::string read_stream(ssh_channel handle, int is_stderr) {
  std::string data;
  char buffer[64 * 1024];
  int got = 0;
  while ((got = ssh_channel_read_nonblocking(handle, buffer, sizeof buffer, is_stderr)) > 0) {
    data.append(buffer, static_cast<std::size_t>(got));
  }
  return data;
}

}  // namespace

channel::channel(connection& owner) : impl_(std::make_unique<impl>()) {
  impl_->link = owner.shared_core();
  if (!impl_->link) throw error(errc::session_closed, "the connection was moved from");
  impl_->handle = ssh_channel_new(impl_->link->handle);
  if (impl_->handle == nullptr) throw error(errc::io_failed, "cannot create a channel");
  ssh_callbacks_init(&impl_->callbacks);
  impl_->callbacks.userdata = impl_.get();
  impl_->callbacks.channel_exit_status_function = on_exit_status;
  impl_->callbacks.channel_exit_signal_function = on_exit_signal;
  ssh_set_channel_callbacks(impl_->handle, &impl_->callbacks);
  if (ssh_channel_open_session(impl_->handle) != SSH_OK) {
    const std::string reason = impl_->why();
    ssh_remove_channel_callbacks(impl_->handle, &impl_->callbacks);
    ssh_channel_free(impl_->handle);
    throw error(errc::io_failed,
                "cannot open a channel on " + impl_->link->display + ": " + reason);
  }
}

channel::channel(channel&&) noexcept = default;
channel& channel::operator=(channel&&) noexcept = default;

channel::~channel() {
  if (impl_ && impl_->handle != nullptr) {
    if (ssh_channel_is_closed(impl_->handle) == 0) ssh_channel_close(impl_->handle);
    // libssh may keep the channel until the server closes it, calling its callbacks, whose
    // userdata (impl_) goes now.
    ssh_remove_channel_callbacks(impl_->handle, &impl_->callbacks);
    ssh_channel_free(impl_->handle);
  }
}

void channel::request_pty(std::string_view terminal, int columns, int rows) {
  impl_->require(
      ssh_channel_request_pty_size(impl_->handle, std::string(terminal).c_str(), columns, rows),
      errc::io_failed, "the pty request was refused");
}

void channel::setenv(std::string_view name, std::string_view value) {
  impl_->require(
      ssh_channel_request_env(impl_->handle, std::string(name).c_str(), std::string(value).c_str()),
      errc::invalid_argument,
      "the server refused to set the environment variable " + std::string(name) +
          " (sshd accepts only the names its AcceptEnv lists)");
}

void channel::exec(std::string_view command) {
  impl_->require(ssh_channel_request_exec(impl_->handle, std::string(command).c_str()),
                 errc::io_failed, "the exec request was refused");
}

void channel::shell() {
  impl_->require(ssh_channel_request_shell(impl_->handle), errc::io_failed,
                 "the shell request was refused");
}

void channel::subsystem(std::string_view name) {
  impl_->require(ssh_channel_request_subsystem(impl_->handle, std::string(name).c_str()),
                 errc::io_failed, "the subsystem '" + std::string(name) + "' was refused");
}

std::string channel::read() {
  return read_stream(impl_->handle, 0);
}
std::string channel::read_stderr() {
  return read_stream(impl_->handle, 1);
}

std::size_t channel::write(std::string_view bytes) {
  const int put =
      ssh_channel_write(impl_->handle, bytes.data(), static_cast<uint32_t>(bytes.size()));
  if (put == SSH_ERROR) {
    throw error(errc::io_failed,
                "cannot write to the channel on " + impl_->link->display + ": " + impl_->why());
  }
  return static_cast<std::size_t>(put);
}

void channel::send_eof() {
  ssh_channel_send_eof(impl_->handle);
}

bool channel::eof() const {
  return ssh_channel_is_eof(impl_->handle) != 0 && ssh_channel_poll(impl_->handle, 0) <= 0 &&
         ssh_channel_poll(impl_->handle, 1) <= 0;
}

void channel::close() {
  if (ssh_channel_is_closed(impl_->handle) == 0) ssh_channel_close(impl_->handle);
}

bool channel::wait_closed(std::chrono::duration<double> timeout) {
  using clock = std::chrono::steady_clock;
  const auto until = clock::now() + std::chrono::duration_cast<clock::duration>(timeout);
  // Incoming data must be read (and is kept for read()) for the close to be seen.
  while (ssh_channel_is_closed(impl_->handle) == 0 && ssh_channel_is_eof(impl_->handle) == 0) {
    if (clock::now() >= until) return false;
    pollfd socket{readiness_fd(), POLLIN, 0};
    ::poll(&socket, 1, 20);
    ssh_channel_poll(impl_->handle, 0);
  }
  // The exit status follows the end of file; libssh waits for it (or the close) here.
  if (!impl_->status && impl_->signal.empty()) {
    const int status = ssh_channel_get_exit_status(impl_->handle);
    if (status >= 0 && impl_->signal.empty()) impl_->status = status;
  }
  return true;
}

std::optional<int> channel::exit_status() const {
  return impl_->signal.empty() ? impl_->status : std::nullopt;
}
std::string channel::exit_signal() const {
  return impl_->signal;
}
bool channel::core_dumped() const {
  return impl_->core;
}
int channel::readiness_fd() const {
  return ssh_get_fd(impl_->link->handle);
}

}  // namespace tether::ssh
