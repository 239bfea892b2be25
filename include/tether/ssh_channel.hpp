#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "tether/ssh.hpp"

namespace tether::ssh {

/// ssh2's Channel, directly (the model of shared/seeds/ssh2-channel.txt): for what Tether's
/// sessions do not cover, such as subsystems or a framing of your own. Reads never block; the
/// readiness descriptor fits an event loop (poll it for POLLIN, then read). Move-only; closing
/// or destroying it closes the channel; it keeps its connection alive.
class channel {
 public:
  /// Open a session channel on `connection`. Throws tether::error(io_failed).
  explicit channel(connection& connection);
  channel(channel&&) noexcept;
  channel& operator=(channel&&) noexcept;
  channel(const channel&) = delete;
  channel& operator=(const channel&) = delete;
  ~channel();

  /// Requests, before one of exec/shell/subsystem. Each throws tether::error with the reason
  /// when the server refuses (setenv: errc::invalid_argument, sshd's AcceptEnv decides).
  void request_pty(std::string_view terminal = "xterm", int columns = 80, int rows = 24);
  void setenv(std::string_view name, std::string_view value);
  void exec(std::string_view command);
  void shell();
  void subsystem(std::string_view name);

  /// What has arrived on stdout / stderr, without waiting; empty when nothing has.
  std::string read();
  std::string read_stderr();
  /// Send bytes to the remote stdin (waits for window space if the peer is slow).
  std::size_t write(std::string_view bytes);
  /// No more input: the remote side reads end of file.
  void send_eof();
  /// The remote side has sent end of file (and everything before it has been read).
  [[nodiscard]] bool eof() const;
  void close();
  /// Wait until the remote side has closed the channel (exit status and signal known), at most
  /// `timeout`. Returns false on timeout.
  bool wait_closed(std::chrono::duration<double> timeout);

  /// "No exit status received" is not 0: empty until it comes, and for a killed command.
  [[nodiscard]] std::optional<int> exit_status() const;
  /// The signal that killed the command ("KILL", without SIG), empty if none.
  [[nodiscard]] std::string exit_signal() const;
  [[nodiscard]] bool core_dumped() const;

  /// The connection's socket: poll it for POLLIN, then call read()/read_stderr().
  [[nodiscard]] int readiness_fd() const;

  struct impl;  ///< libssh's state, out of sight of this header

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace tether::ssh
