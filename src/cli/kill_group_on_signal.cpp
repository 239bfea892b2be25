#include "cli/kill_group_on_signal.hpp"

#include <unistd.h>

namespace tether::cli {

namespace {

volatile sig_atomic_t group_to_kill = 0;

// Only async-signal-safe calls: kill, sigaction, raise.
extern "C" void kill_group_then_die(int signal_number) {
  if (group_to_kill > 0) ::kill(-group_to_kill, SIGKILL);
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  ::sigaction(signal_number, &default_action, nullptr);
  ::raise(signal_number);
}

}  // namespace

kill_group_on_signal::kill_group_on_signal(int process_group) {
  group_to_kill = process_group;
  struct sigaction action {};
  action.sa_handler = kill_group_then_die;
  sigemptyset(&action.sa_mask);
  for (std::size_t i = 0; i < ending_signal_count; ++i)
    ::sigaction(ending_signals[i], &action, &previous_[i]);
}

kill_group_on_signal::~kill_group_on_signal() {
  for (std::size_t i = 0; i < ending_signal_count; ++i)
    ::sigaction(ending_signals[i], &previous_[i], nullptr);
  group_to_kill = 0;
}

}  // namespace tether::cli
