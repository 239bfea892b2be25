#pragma once

#include <libssh/libssh.h>
#include <poll.h>

namespace tether::ssh {

/// Makes a libssh session non-blocking for one scope: every call in it returns SSH_AGAIN
/// rather than wait for the server. The rest of Tether uses sessions in blocking mode (with
/// SSH_OPTIONS_TIMEOUT), so the mode is put back at the end of the scope.
class nonblocking_scope {
 public:
  explicit nonblocking_scope(ssh_session session) : session_(session) {
    ssh_set_blocking(session_, 0);
  }
  ~nonblocking_scope() { ssh_set_blocking(session_, 1); }
  nonblocking_scope(const nonblocking_scope&) = delete;
  nonblocking_scope& operator=(const nonblocking_scope&) = delete;

 private:
  ssh_session session_;
};

/// The session's socket and what to wait for on it: readable always, writable only while
/// libssh has output queued (an idle socket is always writable: waiting for that would spin).
inline pollfd socket_wait(ssh_session session) {
  short events = POLLIN;
  if ((ssh_get_poll_flags(session) & SSH_WRITE_PENDING) != 0) events |= POLLOUT;
  return pollfd{.fd = ssh_get_fd(session), .events = events, .revents = 0};
}

}  // namespace tether::ssh
