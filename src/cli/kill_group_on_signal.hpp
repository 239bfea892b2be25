#pragma once

#include <signal.h>

#include "cli/ending_signals.hpp"

namespace tether::cli {

/// While it lives, SIGINT, SIGTERM and SIGHUP first kill a process group (a single session's
/// shell and everything it runs), then end tether as the signal would have. A blocking
/// tether::session cannot be woken to interrupt its command, but without this its shell, in a
/// process group of its own, would outlive tether and run on.
class kill_group_on_signal {
 public:
  explicit kill_group_on_signal(int process_group);
  ~kill_group_on_signal();
  kill_group_on_signal(const kill_group_on_signal&) = delete;
  kill_group_on_signal& operator=(const kill_group_on_signal&) = delete;

 private:
  struct sigaction previous_[ending_signal_count] {};
};

}  // namespace tether::cli
