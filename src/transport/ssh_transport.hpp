#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "transport/process_transport.hpp"
#include "transport/unique_fd.hpp"

namespace tether::transport {

/// What ssh_transport runs: the ssh client's arguments before the destination (options), the
/// destination words, and the side-channel settings.
struct ssh_command {
  std::string program = "ssh";
  std::vector<std::string> options;      ///< -F, -i, -p, -l, -o ... (not the control settings)
  std::vector<std::string> destination;  ///< the host, possibly preceded by more ssh arguments
  std::string remote_shell = "/bin/sh";
  int connect_timeout_s = 10;
  /// Start the remote shell as `remote_shell /dev/fd/3` with the command stream on descriptor 3
  /// and stdin /dev/null (needs /dev/fd on the far side, as Linux, the BSDs and macOS have).
  bool commands_on_fd3 = true;
};

/// A shell on another host through the OpenSSH client. The ssh process is a local process like
/// any other (process_transport), with two differences that matter:
/// - SIGINT to the local process group would kill ssh and drop the connection, so a timeout
///   interrupts the REMOTE shell's process group instead: the ssh process is a ControlMaster,
///   and `kill -INT -- -PGID` goes over a second channel of the same connection (a few ms,
///   no new handshake). The remote shell reports its pid at start-up (set_shell_pid).
/// - Stopping kills the remote process group the same way before the connection goes, so
///   nothing a command started is left running on the far side.
class ssh_transport final : public transport {
 public:
  /// Spawns ssh; throws tether::error(errc::spawn_failed) if it cannot be started.
  explicit ssh_transport(ssh_command command);
  ~ssh_transport() override;
  ssh_transport(const ssh_transport&) = delete;
  ssh_transport& operator=(const ssh_transport&) = delete;

  std::size_t add_poll_fds(std::vector<pollfd>& fds, bool want_write) const override;
  void on_ready(const pollfd* mine, std::size_t count, byte_sink& sink) override;
  std::size_t write_some(std::string_view bytes, std::error_code& ec) override;
  [[nodiscard]] bool ended() const override { return stopped_ || ssh_->ended(); }
  void drain(byte_sink& sink, int rounds = 4096) override { ssh_->drain(sink, rounds); }
  [[nodiscard]] std::string end_description() const override;
  void interrupt() override;
  [[nodiscard]] std::optional<std::chrono::steady_clock::time_point> interrupt_in_flight()
      const override;
  void begin_kill() override;
  void stop(int grace_ms) noexcept override;
  [[nodiscard]] int pid() const override { return ssh_->pid(); }
  [[nodiscard]] bool commands_on_own_fd() const override { return command_.commands_on_fd3; }
  void set_shell_pid(int pid) override { remote_pid_ = pid; }
  [[nodiscard]] std::uint64_t closed_descriptors() const override {
    return closed_watches_ + ssh_->closed_descriptors();
  }

 private:
  /// Run `remote_command` over the shared connection; returns the helper's pid (-1 on failure).
  pid_t send_over_side_channel(const std::string& remote_command);
  void reap_helpers(bool wait);
  /// Wait at most `limit` for a helper to finish, and forget it once reaped.
  void wait_for_helper(pid_t helper, std::chrono::milliseconds limit);

  ssh_command command_;
  std::string control_dir_;
  std::string control_path_;
  std::unique_ptr<process_transport> ssh_;
  int remote_pid_ = -1;
  std::vector<pid_t> helpers_;
  // The helper delivering an interrupt, watched through a pidfd by the owner's loop rather than
  // waited for here (a stuck link must not stall a loop that serves other sessions).
  pid_t interrupt_helper_ = -1;
  unique_fd interrupt_watch_;
  std::chrono::steady_clock::time_point interrupt_give_up_{};
  mutable bool watch_polled_ = false;  // add_poll_fds appended interrupt_watch_
  void check_interrupt_delivered();
  void watch_helper(pid_t helper);
  void drop_watch();
  std::uint64_t closed_watches_ = 0;
  bool stopped_ = false;
  bool kill_sent_ = false;  // begin_kill() sent one
};

}  // namespace tether::transport
