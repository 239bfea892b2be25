#pragma once

#include <libssh/libssh.h>
#include <poll.h>

#include <memory>
#include <string>

#include "transport/libssh_channel_transport.hpp"
#include "transport/libssh_connection.hpp"

namespace tether::transport {

/// Opening a channel on a connection and starting the remote shell there, in steps that never
/// block: advance() whenever the connection's socket is ready (ssh::socket_wait) until it
/// returns true, then take() the shell's transport.
class libssh_shell_opening {
 public:
  libssh_shell_opening(std::shared_ptr<ssh::connection::core> connection, std::string remote_shell);
  ~libssh_shell_opening();
  libssh_shell_opening(const libssh_shell_opening&) = delete;
  libssh_shell_opening& operator=(const libssh_shell_opening&) = delete;

  /// True once the shell runs. Throws tether::error(start_failed) naming the host and why.
  bool advance();
  /// The running shell; once, after advance() returned true.
  std::unique_ptr<libssh_channel_transport> take();

 private:
  std::shared_ptr<ssh::connection::core> connection_;
  std::string command_;
  ssh_channel channel_ = nullptr;
  bool open_ = false;
  bool started_ = false;
};

}  // namespace tether::transport
