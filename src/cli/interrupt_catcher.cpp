#include "cli/interrupt_catcher.hpp"

#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace tether::cli {

namespace {

int pipe_fds[2] = {-1, -1};
volatile sig_atomic_t ending_signal = 0;
volatile sig_atomic_t untaken = 0;        // signals since the last take()
volatile sig_atomic_t second_ends = 0;    // end_on_second_signal's
volatile sig_atomic_t group_to_kill = 0;  // and its process group, if any
volatile sig_atomic_t group_killed = 0;   // by a second signal, since end_on_second_signal
int recorded_signal = 0;                  // end_by_signal's

// Only async-signal-safe calls: write, waitid, kill, sigaction, raise.
extern "C" void on_interrupt(int signal_number) {
  const int saved = errno;
  if (untaken > 0 && second_ends != 0) {
    // The group id is the shell's pid, ours only while the shell is our unreaped child: the
    // session reaps it only when it ends it, and it cannot do so while this handler runs on
    // its (the only) thread. A shell restarted meanwhile has a group of its own, not this.
    siginfo_t info{};
    if (group_killed == 0 && group_to_kill > 0 &&
        ::waitid(P_PID, static_cast<id_t>(group_to_kill), &info, WEXITED | WNOHANG | WNOWAIT) ==
            0) {
      // The session sees its shell die (it watches a pidfd) and returns with all the command
      // printed before it died, which tether shows before it ends by the signal: ending here
      // would lose what still sat unread in the pipes. A third signal ends tether at once.
      ::kill(-group_to_kill, SIGKILL);
      group_killed = 1;
      if (signal_number != SIGINT) ending_signal = signal_number;
      errno = saved;
      return;
    }
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    ::sigaction(signal_number, &default_action, nullptr);
    ::raise(signal_number);  // blocked while its handler runs: delivered as this one returns
    errno = saved;
    return;
  }
  untaken = 1;
  if (signal_number != SIGINT) ending_signal = signal_number;
  const char byte = 1;
  [[maybe_unused]] const auto put = ::write(pipe_fds[1], &byte, 1);
  errno = saved;
}

}  // namespace

interrupt_catcher::interrupt_catcher() {
  if (pipe_fds[0] < 0 && ::pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0) return;
  struct sigaction action {};
  action.sa_handler = on_interrupt;
  // One handler at a time: a second signal is seen as second, after the first's bookkeeping.
  sigemptyset(&action.sa_mask);
  for (const int signal_number : ending_signals) sigaddset(&action.sa_mask, signal_number);
  action.sa_flags = 0;  // no SA_RESTART: a Ctrl-C at the prompt ends the read
  for (std::size_t i = 0; i < ending_signal_count; ++i) {
    ::sigaction(ending_signals[i], nullptr, &previous_[i]);
    // Ignored by whoever started tether (nohup; `tether ... &` in a script ignores SIGINT):
    // it stays ignored.
    if (previous_[i].sa_handler != SIG_IGN) ::sigaction(ending_signals[i], &action, nullptr);
  }
}

interrupt_catcher::~interrupt_catcher() {
  for (std::size_t i = 0; i < ending_signal_count; ++i)
    ::sigaction(ending_signals[i], &previous_[i], nullptr);
  second_ends = 0;
}

void interrupt_catcher::end_on_second_signal(bool ends, int process_group) {
  group_to_kill = process_group > 0 ? process_group : 0;
  group_killed = 0;
  second_ends = ends ? 1 : 0;
}

bool interrupt_catcher::killed_group() const {
  return group_killed != 0;
}

int interrupt_catcher::ending() const {
  return ending_signal;
}

int interrupt_catcher::fd() const {
  return pipe_fds[0];
}

bool interrupt_catcher::take() {
  untaken = 0;
  bool pressed = false;
  char bytes[64];
  while (::read(pipe_fds[0], bytes, sizeof bytes) > 0) pressed = true;
  return pressed;
}

int end_by_signal(int signal_number) {
  recorded_signal = signal_number;
  return 128 + signal_number;
}

void die_of_recorded_signal() {
  if (recorded_signal == 0) return;
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  ::sigaction(recorded_signal, &default_action, nullptr);
  sigset_t only;
  sigemptyset(&only);
  sigaddset(&only, recorded_signal);
  ::sigprocmask(SIG_UNBLOCK, &only, nullptr);
  ::raise(recorded_signal);
}

}  // namespace tether::cli
