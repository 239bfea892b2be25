#include "transport/libssh_shell_opening.hpp"

#include <utility>

#include "tether/error.hpp"
#include "transport/libssh_nonblocking.hpp"

namespace tether::transport {

namespace {

// The command that starts the shell: POSIX redirections inside `sh -c '...'` so that any login
// shell (tcsh, fish) passes them on; the shell reads commands from descriptor 3.
std::string shell_command(const std::string& remote_shell) {
  return "exec /bin/sh -c 'exec " + remote_shell + " /dev/fd/3 3<&0 </dev/null'";
}

}  // namespace

libssh_shell_opening::libssh_shell_opening(std::shared_ptr<ssh::connection::core> connection,
                                           std::string remote_shell)
    : connection_(std::move(connection)), command_(shell_command(remote_shell)) {
  channel_ = ssh_channel_new(connection_->handle);
  if (channel_ == nullptr) {
    throw error(errc::start_failed, "cannot open a channel on " + connection_->display + ": " +
                                        ssh_get_error(connection_->handle));
  }
}

libssh_shell_opening::~libssh_shell_opening() {
  if (channel_ != nullptr) ssh_channel_free(channel_);
}

bool libssh_shell_opening::advance() {
  const ssh::nonblocking_scope steps(connection_->handle);
  if (!open_) {
    const int state = ssh_channel_open_session(channel_);
    if (state == SSH_AGAIN) return false;
    if (state != SSH_OK) {
      throw error(errc::start_failed, "cannot open a channel on " + connection_->display + ": " +
                                          ssh_get_error(connection_->handle));
    }
    open_ = true;
  }
  if (!started_) {
    const int state = ssh_channel_request_exec(channel_, command_.c_str());
    if (state == SSH_AGAIN) return false;
    if (state != SSH_OK) {
      throw error(errc::start_failed, "cannot start a shell on " + connection_->display + ": " +
                                          ssh_get_error(connection_->handle));
    }
    started_ = true;
  }
  return true;
}

std::unique_ptr<libssh_channel_transport> libssh_shell_opening::take() {
  return std::make_unique<libssh_channel_transport>(connection_, std::exchange(channel_, nullptr));
}

}  // namespace tether::transport
