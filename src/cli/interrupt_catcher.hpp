#pragma once

#include <signal.h>

#include "cli/ending_signals.hpp"

namespace tether::cli {

/// Catches SIGINT (Ctrl-C), SIGTERM and SIGHUP (the terminal closed) while it lives, so that
/// they interrupt the running commands instead of killing tether (which would leave the
/// sessions' commands running on). The handler only writes a byte to a pipe that the loop waits
/// on along with the fleet. A signal that was ignored when tether started (nohup) stays
/// ignored. Restores the previous dispositions when it goes.
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
  /// SIGTERM or SIGHUP once one came (tether should then end by it), else 0.
  [[nodiscard]] int ending() const;
  /// The signal tether ends by after an interrupt: ending(), or SIGINT if that is 0.
  [[nodiscard]] int caught() const { return ending() != 0 ? ending() : SIGINT; }
  /// With `ends`, a signal that comes while an earlier one is still untaken means the user will
  /// not wait for the interrupt to be served: it kills `process_group` (a local session's shell
  /// and all it runs) if it is still that shell's, so that the command ends at once with the
  /// output it printed; without such a group, or at a third signal, it ends tether at once as
  /// the signal would.
  void end_on_second_signal(bool ends, int process_group);
  /// Whether a second signal killed the process group since end_on_second_signal.
  [[nodiscard]] bool killed_group() const;

 private:
  struct sigaction previous_[ending_signal_count] {};
};

/// tether ends because of `signal_number` (after interrupting the commands): recorded, so that
/// main() can end by it once the sessions are closed (die_of_recorded_signal). Returns the
/// status a shell shows for that, 128 + the signal.
int end_by_signal(int signal_number);
/// If a signal was recorded, end tether by it now, its default action restored: whoever ran
/// tether then sees it killed by the signal, as programs that catch SIGINT should end (a shell
/// running tether in a loop stops at Ctrl-C only then; an exit status of 130 would make it go
/// on). Returns if none was recorded.
void die_of_recorded_signal();

}  // namespace tether::cli
