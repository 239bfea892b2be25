#pragma once

#include <signal.h>

namespace tether::cli {

/// Catches SIGINT (Ctrl-C) while it lives, so that it interrupts the running commands instead
/// of killing tether (which would leave the sessions' commands running on). The handler only
/// writes a byte to a pipe that the loop waits on along with the fleet. Restores the previous
/// disposition when it goes.
class interrupt_catcher {
 public:
  interrupt_catcher();
  ~interrupt_catcher();
  interrupt_catcher(const interrupt_catcher&) = delete;
  interrupt_catcher& operator=(const interrupt_catcher&) = delete;

  /// Readable after a Ctrl-C.
  [[nodiscard]] int fd() const;
  /// Whether Ctrl-C was pressed since the last call.
  bool take();

 private:
  struct sigaction previous_ {};
};

}  // namespace tether::cli
