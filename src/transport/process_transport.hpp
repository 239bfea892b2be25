#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "transport/spawn.hpp"
#include "transport/transport.hpp"

namespace tether::transport {

/// A local process (a shell, or `ssh host` running one) driven through three pipes.
class process_transport final : public transport {
 public:
  /// Spawns argv; throws tether::error(errc::spawn_failed) if it cannot be started.
  /// `ordered`: argv is a shell that writes straight into the pipes (not a relay such as ssh).
  /// `commands_on_fd3`: argv reads its commands from descriptor 3 (`sh /dev/fd/3`), and its
  /// stdin is /dev/null.
  process_transport(const std::vector<std::string>& argv, const std::string& working_directory,
                    bool ordered = false, bool commands_on_fd3 = false);
  ~process_transport() override;
  process_transport(const process_transport&) = delete;
  process_transport& operator=(const process_transport&) = delete;

  std::size_t add_poll_fds(std::vector<pollfd>& fds, bool want_write) const override;
  void on_ready(const pollfd* mine, std::size_t count, byte_sink& sink) override;
  std::size_t write_some(std::string_view bytes, std::error_code& ec) override;
  [[nodiscard]] bool ended() const override { return exit_status_.has_value(); }
  void drain(byte_sink& sink, int rounds = 4096) override;
  void complete_stderr(byte_sink& sink) override;
  [[nodiscard]] bool streams_ordered() const override { return ordered_; }
  [[nodiscard]] bool commands_on_own_fd() const override { return commands_on_fd3_; }
  [[nodiscard]] std::string end_description() const override;
  void interrupt() override;
  void stop(int grace_ms) noexcept override;
  [[nodiscard]] int pid() const override { return stopped_ ? -1 : child_.pid; }
  [[nodiscard]] std::uint64_t closed_descriptors() const override { return closed_; }

 private:
  enum class read_outcome { data, would_block, closed };
  read_outcome read_once(unique_fd& fd, output_stream stream, bool& grown, byte_sink& sink);
  std::uint64_t closed_ = 0;  // output pipes closed at their end (see closed_descriptors)
  void note_exit();

  spawned_child child_;
  bool out_grown_ = false;
  bool err_grown_ = false;
  std::optional<int> exit_status_;  // raw wait status, once the shell has ended
  bool stopped_ = false;
  bool ordered_ = false;
  bool commands_on_fd3_ = false;
};

}  // namespace tether::transport
