#pragma once

#include <poll.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "tether/output_stream.hpp"

namespace tether::transport {

/// Receives the bytes a transport reads, stream by stream.
class byte_sink {
 public:
  /// Where the next read of `stream` may go: memory the sink owns, so that bulk output lands
  /// where it is kept without another copy. Empty: the transport reads into its own buffer.
  virtual std::span<char> read_target(output_stream /*stream*/) { return {}; }
  /// The bytes just read, in the read_target memory or in the transport's own buffer.
  virtual void on_bytes(output_stream stream, std::string_view bytes) = 0;

 protected:
  ~byte_sink() = default;
};

/// A byte pipe to one shell: its stdin, its stdout and stderr, and whether it still lives.
/// Every call is non-blocking; the owner waits on the descriptors that add_poll_fds names.
class transport {
 public:
  virtual ~transport() = default;

  /// Append the descriptors to wait on; with `want_write`, also wait until stdin takes bytes.
  /// Returns how many entries were appended (the span later passed to on_ready).
  virtual std::size_t add_poll_fds(std::vector<pollfd>& fds, bool want_write) const = 0;
  /// After a wait: read what the ready descriptors hold into `sink` and note a death.
  virtual void on_ready(const pollfd* mine, std::size_t count, byte_sink& sink) = 0;
  /// Write as much of `bytes` as the shell's stdin takes now. Sets `ec` when the shell can no
  /// longer be written to (it closed its stdin or died); never raises SIGPIPE.
  virtual std::size_t write_some(std::string_view bytes, std::error_code& ec) = 0;

  /// The shell has ended. Once true, drain() collects whatever output is left.
  [[nodiscard]] virtual bool ended() const = 0;
  /// Read what is readable now, without waiting, at most `rounds` reads per stream (after
  /// the shell ended, or to complete stderr after the stdout marker).
  virtual void drain(byte_sink& sink, int rounds = 4096) = 0;
  /// For a transport whose streams are ordered, after the stdout marker: take in the stderr
  /// the command wrote, which is all readable by now (see protocol::markers::stdout_only).
  virtual void complete_stderr(byte_sink& sink) { drain(sink, 2); }

  /// The shell writes straight into the pipes we read, so that the kernel keeps its stdout and
  /// stderr in order with each other (see protocol::markers::stdout_only).
  [[nodiscard]] virtual bool streams_ordered() const { return false; }

  /// The shell reads its commands from a descriptor of its own, its stdin being /dev/null, so
  /// no command can read the command stream (see protocol::prelude_options).
  [[nodiscard]] virtual bool commands_on_own_fd() const { return false; }
  /// How the shell ended, for messages: "exited with status 3", "was killed by SIGKILL".
  [[nodiscard]] virtual std::string end_description() const = 0;

  /// Interrupt the running command (SIGINT to the shell's process group).
  virtual void interrupt() = 0;
  /// An interrupt is still on its way to the shell (a helper delivering it over the network),
  /// until the time returned at the latest; none: nothing on its way. A command is not over
  /// until its interrupt has arrived, or the SIGINT could hit the next command.
  [[nodiscard]] virtual std::optional<std::chrono::steady_clock::time_point> interrupt_in_flight()
      const {
    return std::nullopt;
  }
  /// Send SIGKILL to the shell's remote process group without waiting for it to get there: its
  /// delivery shows in interrupt_in_flight(), and the stop() that follows sends no kill of its
  /// own. For a loop that must not wait on one session's slow link. Local shells: nothing to
  /// do (stop() kills their group at once).
  virtual void begin_kill() {}
  /// The stop ladder: close stdin, give the shell `grace_ms` to exit, kill what is left of its
  /// process group, reap. Idempotent; never throws.
  virtual void stop(int grace_ms) noexcept = 0;

  /// The shell's process id (-1 when not a local process or stopped). For SSH: the local ssh.
  [[nodiscard]] virtual int pid() const = 0;

  /// The shell's own `$$`, as it reported at start-up: where a remote interrupt must go.
  virtual void set_shell_pid(int /*pid*/) {}

  /// Counts the descriptors named by add_poll_fds that the transport has closed on its own (a
  /// helper's pidfd once the helper ended): a new descriptor may then reuse the number, so the
  /// owner must register its descriptors afresh whenever this changes.
  [[nodiscard]] virtual std::uint64_t closed_descriptors() const { return 0; }

  /// When the transport needs a turn of the loop even if its descriptors stay quiet; none: only
  /// when they are ready. (A library that takes in every channel's packets whenever it reads may
  /// have read, while serving one channel, the answer another is waiting for.)
  [[nodiscard]] virtual std::optional<std::chrono::steady_clock::time_point> next_check() const {
    return std::nullopt;
  }

  /// Input is already buffered inside the transport (a library read it from the socket while
  /// serving another channel), so waiting on the descriptors could sleep on data at hand.
  [[nodiscard]] virtual bool ready_now() const { return false; }
};

}  // namespace tether::transport
