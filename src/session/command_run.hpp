#pragma once

#include <array>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "loop/poll_wait.hpp"
#include "protocol/marker_decoder.hpp"
#include "session/output_growth.hpp"
#include "tether/result.hpp"
#include "transport/transport.hpp"

namespace tether::session_detail {

using loop::clock;

/// What bounds one command.
struct command_limits {
  std::optional<clock::duration> timeout;
  std::optional<clock::duration> idle_timeout;
  clock::duration interrupt_grace = std::chrono::seconds(2);
  /// On the deadline, interrupt and wait out the grace period; when false, give up at once
  /// (start-up: a shell that has not answered yet has nothing to interrupt).
  bool interrupt_on_timeout = true;
  std::optional<std::size_t> output_cap;
  /// When set, output goes here instead of into the result.
  const std::function<void(output_stream, std::string_view)>* on_output = nullptr;
};

/// One command in flight on a transport, as an explicit state machine that never blocks: the
/// owner waits on add_poll_fds() until next_deadline(), then calls advance(). Used by the
/// blocking session::run() and by anything that drives many sessions from one loop.
class command_run final : transport::byte_sink, protocol::output_handler {
 public:
  enum class state {
    writing,       ///< the command line is still being written
    waiting,       ///< written; waiting for both end markers
    interrupting,  ///< timed out, SIGINT sent; waiting out the grace period for the markers
    finished,      ///< both markers seen: the result is complete
    abandoned,     ///< timed out and the interrupt did not bring the shell back: kill it
    shell_died,    ///< the shell ended before the markers came
    failed,        ///< the framing broke or the shell could not be written to
  };

  /// `leftovers` holds bytes the shell printed after an earlier command's markers (a
  /// background job's output); they are this command's first output, and bytes after this
  /// command's markers are put back there.
  ///
  /// `stale_marker`: the previous command's stdout marker line, exactly. zsh prints it again
  /// when a SIGINT lands just as the command ends; a copy at the start of this command's
  /// stdout is that echo, not output, and is dropped.
  command_run(transport::transport& channel, std::string line, std::string marker,
              const command_limits& limits, std::array<std::string, 2>& leftovers,
              std::string stale_marker = {});
  /// This command's stdout marker line, once finished (for the next command's stale_marker).
  [[nodiscard]] std::string marker_line() const;
  command_run(const command_run&) = delete;
  command_run& operator=(const command_run&) = delete;

  std::size_t add_poll_fds(std::vector<pollfd>& fds) const;
  [[nodiscard]] std::optional<clock::time_point> next_deadline() const;
  /// Progress after a wait: `mine` are the entries add_poll_fds appended, with revents set.
  void advance(const pollfd* mine, std::size_t count, clock::time_point now);

  /// Interrupt the command now, as a timeout would, without marking it timed out (the shell
  /// reports 130); the grace period then applies. A command still being written is
  /// interrupted once it is written.
  void interrupt(clock::time_point now);

  [[nodiscard]] state current() const { return state_; }
  [[nodiscard]] bool done() const { return state_ >= state::finished; }
  /// Why the run failed, for state::failed and state::shell_died.
  [[nodiscard]] const std::string& failure() const { return failure_; }
  /// The result so far; complete once done(). Its duration is set when the run ends.
  result& outcome();
  /// The command line's buffer, for the session's next line (its contents are no longer needed
  /// once written).
  std::string take_line() { return std::move(line_); }

 private:
  std::span<char> read_target(output_stream stream) override;
  void on_bytes(output_stream stream, std::string_view bytes) override;
  void on_output(output_stream stream, std::string_view bytes) override;
  void write_pending();
  [[nodiscard]] std::optional<int> status_reported() const;
  void begin_interrupt(clock::time_point now);
  void check_progress(clock::time_point now);
  void end(state final_state, clock::time_point now);
  void settle(output_stream stream);

  transport::transport& channel_;
  std::string line_;
  std::size_t written_ = 0;
  protocol::marker_decoder decoder_;
  command_limits limits_;
  std::array<std::string, 2>& leftovers_;
  state state_ = state::writing;
  clock::time_point started_;
  clock::time_point last_output_;
  std::optional<clock::time_point> grace_deadline_;
  std::optional<clock::time_point> reinterrupt_at_;  // see check_progress
  bool interrupt_when_written_ = false;
  std::string failure_;
  result result_;
  // Direct reads (see read_target): while the result string carries a region lent to reads
  // (during them and between them), how many of its bytes are output so far.
  std::array<std::optional<std::size_t>, 2> direct_committed_;
  std::array<std::size_t, 2> last_read_{};
  std::string marker_;
  std::string stale_marker_;  // still to be matched at the start of stdout
  std::size_t stale_matched_ = 0;
  std::array<output_growth, 2> growth_;
};

}  // namespace tether::session_detail
