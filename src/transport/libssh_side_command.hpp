#pragma once

#include <libssh/libssh.h>

#include <string>

namespace tether::transport {

/// A short command (a `kill` for the shell's process group) run on a channel of its own on a
/// connection a shell already uses, in steps that never block: advance() whenever the
/// connection's socket is ready, until it returns true. An ssh channel has no signals sshd
/// honours, so this is how an interrupt reaches a remote command.
///
/// A channel still being opened must not be dropped: closing it would send the server a close
/// for a channel number it has not given yet (which may name another session's channel), and
/// freeing it would leave the server's end open. Unfinished side commands therefore go to their
/// connection's `lingering` list until the open has resolved.
class libssh_side_command {
 public:
  libssh_side_command(ssh_session session, std::string command);
  ~libssh_side_command();
  libssh_side_command(const libssh_side_command&) = delete;
  libssh_side_command& operator=(const libssh_side_command&) = delete;

  /// Take the steps that can be taken now. True once the command has ended (its output
  /// closed), or could not be run at all: nothing more will come of it either way.
  bool advance();

  /// No longer wanted (an interrupt given up: arriving late, it could hit the next command):
  /// if the channel is still being opened, it is closed once open instead of running the
  /// command. Keep advancing it until advance() returns true (see connection::core::lingering).
  void abandon() { abandoned_ = true; }

 private:
  enum class stage { opening, starting, running, over };

  ssh_session session_;
  ssh_channel channel_ = nullptr;
  std::string command_;
  stage stage_ = stage::opening;
  bool abandoned_ = false;
};

}  // namespace tether::transport
