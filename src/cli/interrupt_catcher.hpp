#pragma once

#include <signal.h>

#include "cli/ending_signals.hpp"

namespace tether::cli {

/// Catches SIGINT (Ctrl-C), SIGTERM and SIGHUP (the terminal closed) while it lives, so that
/// they interrupt the running commands instead of killing tether (which would leave the
/// sessions' commands running on). The handler only writes a byte to a pipe that the loop waits
/// on along with the fleet. Restores the previous dispositions when it goes.
class interrupt_catcher {
 public:
  interrupt_catcher();
  ~interrupt_catcher();
  interrupt_catcher(const interrupt_catcher&) = delete;
  interrupt_catcher& operator=(const interrupt_catcher&) = delete;

  /// Readable after a Ctrl-C.
  [[nodiscard]] int fd() const;
  /// Whether a signal came since the last call.
  bool take();
  /// SIGTERM or SIGHUP once one came (tether should then end, with 128 + it), else 0.
  [[nodiscard]] int ending() const;
  /// With a process group given (0: none), a signal that comes while an earlier one is still
  /// untaken means the user will not wait for the interrupt to be served: it kills the group
  /// (a session's shell and all it runs) and ends tether as the signal would.
  void kill_on_second_signal(int process_group);

 private:
  struct sigaction previous_[ending_signal_count] {};
};

}  // namespace tether::cli
