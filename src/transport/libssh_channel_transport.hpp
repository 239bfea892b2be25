#pragma once

#include <libssh/callbacks.h>
#include <libssh/libssh.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "transport/libssh_connection.hpp"
#include "transport/libssh_side_command.hpp"
#include "transport/transport.hpp"

namespace tether::transport {

/// A shell on one channel of a libssh connection. Other channels (other sessions, exec calls,
/// the interrupts of this one) share the connection. The remote shell reads its commands from
/// descriptor 3 (protocol::prelude_options); stdout and stderr come back as the channel's two
/// streams, which sshd does not keep in order with each other, so both end markers are used.
class libssh_channel_transport final : public transport {
 public:
  /// Takes over a channel on which the shell runs (libssh_shell_opening starts one).
  libssh_channel_transport(std::shared_ptr<ssh::connection::core> connection,
                           ssh_channel running_shell);
  ~libssh_channel_transport() override;
  libssh_channel_transport(const libssh_channel_transport&) = delete;
  libssh_channel_transport& operator=(const libssh_channel_transport&) = delete;

  std::size_t add_poll_fds(std::vector<pollfd>& fds, bool want_write) const override;
  void on_ready(const pollfd* mine, std::size_t count, byte_sink& sink) override;
  std::size_t write_some(std::string_view bytes, std::error_code& ec) override;
  [[nodiscard]] bool ended() const override { return ended_; }
  void drain(byte_sink& sink, int rounds = 4096) override;
  [[nodiscard]] std::string end_description() const override;
  /// Sends the SIGINT without waiting: see interrupt_in_flight.
  void interrupt() override;
  [[nodiscard]] std::optional<std::chrono::steady_clock::time_point> interrupt_in_flight()
      const override;
  void begin_kill() override;
  /// Kills the shell's process group (waiting up to 2 s for that, unless begin_kill() sent the
  /// kill already) and closes the channel.
  void stop(int grace_ms) noexcept override;
  [[nodiscard]] int pid() const override { return -1; }
  void set_shell_pid(int pid) override { remote_pid_ = pid; }
  [[nodiscard]] bool commands_on_own_fd() const override { return true; }
  [[nodiscard]] bool ready_now() const override;
  [[nodiscard]] std::optional<std::chrono::steady_clock::time_point> next_check() const override;

 private:
  void read_available(byte_sink& sink);
  [[nodiscard]] std::string kill_command(const char* signal_name) const;
  void send_signal(const char* signal_name);
  bool advance_interrupts() const;  // true when one has ended
  void let_go_of_interrupts() const;

  static constexpr std::chrono::seconds interrupt_give_up{2};
  static constexpr std::chrono::milliseconds side_channel_check{5};

  std::shared_ptr<ssh::connection::core> connection_;
  ssh_channel channel_ = nullptr;
  ssh_channel_callbacks_struct callbacks_{};
  std::string exit_signal_;
  bool ended_ = false;
  bool stopped_ = false;
  bool kill_sent_ = false;  // begin_kill() sent one
  int remote_pid_ = -1;
  std::string lost_;  // why the connection failed, if it did
  // On their way; advanced from ready_now() too, hence mutable.
  struct pending_signal {
    std::unique_ptr<libssh_side_command> side;
    bool harmful_late = true;  // an INT: arriving late, it could hit the next command
  };
  mutable std::vector<pending_signal> interrupts_;
  mutable std::optional<std::chrono::steady_clock::time_point> interrupts_until_;
  mutable bool side_ended_ = false;  // one ended since the last on_ready
};

/// Run one command on a channel of its own (ssh2's exec), wait for it and return its result.
ssh::exec_result run_exec(ssh::connection::core& connection, std::string_view command,
                          const ssh::exec_options& options);

}  // namespace tether::transport
