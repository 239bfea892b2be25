#include "transport/libssh_side_command.hpp"

#include <utility>

#include "transport/libssh_nonblocking.hpp"

namespace tether::transport {

libssh_side_command::libssh_side_command(ssh_session session, std::string command)
    : session_(session), command_(std::move(command)) {
  channel_ = ssh_channel_new(session_);
  if (channel_ == nullptr) stage_ = stage::over;
}

libssh_side_command::~libssh_side_command() {
  if (channel_ == nullptr) return;
  // Closing sends the server our close for its channel number: only an open channel has one.
  // Freeing in the same non-blocking scope: a close libssh could not flush at once must not be
  // retried by ssh_channel_free in blocking mode.
  const ssh::nonblocking_scope quick(session_);
  if (ssh_is_connected(session_) != 0 && ssh_channel_is_open(channel_) != 0) {
    ssh_channel_close(channel_);
  }
  ssh_channel_free(channel_);
}

bool libssh_side_command::advance() {
  if (stage_ == stage::over) return true;
  if (ssh_is_connected(session_) == 0) {
    stage_ = stage::over;
    return true;
  }
  const ssh::nonblocking_scope steps(session_);
  if (stage_ == stage::opening) {
    const int state = ssh_channel_open_session(channel_);
    if (state == SSH_AGAIN) return false;
    if (state != SSH_OK) {
      stage_ = stage::over;
      return true;
    }
    if (abandoned_) {
      ssh_channel_close(channel_);
      stage_ = stage::over;
      return true;
    }
    stage_ = stage::starting;
  }
  if (stage_ == stage::starting) {
    const int state = ssh_channel_request_exec(channel_, command_.c_str());
    if (state == SSH_AGAIN) return false;
    if (state != SSH_OK) {
      stage_ = stage::over;
      return true;
    }
    ssh_channel_send_eof(channel_);
    stage_ = stage::running;
  }
  // Reading takes in what the server sent (the command prints nothing we keep); the end of
  // its output is the end of the command.
  char discard[256];
  while (ssh_channel_read_nonblocking(channel_, discard, sizeof discard, 0) > 0) {
  }
  while (ssh_channel_read_nonblocking(channel_, discard, sizeof discard, 1) > 0) {
  }
  if (ssh_channel_is_eof(channel_) != 0 || ssh_channel_is_closed(channel_) != 0) {
    stage_ = stage::over;
    return true;
  }
  return false;
}

}  // namespace tether::transport
