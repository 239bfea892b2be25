#include "cli/interrupt_catcher.hpp"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

namespace tether::cli {

namespace {

int pipe_fds[2] = {-1, -1};
volatile sig_atomic_t ending_signal = 0;

extern "C" void on_interrupt(int signal_number) {
  const int saved = errno;
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
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: a Ctrl-C at the prompt ends the read
  for (std::size_t i = 0; i < ending_signal_count; ++i)
    ::sigaction(ending_signals[i], &action, &previous_[i]);
}

interrupt_catcher::~interrupt_catcher() {
  for (std::size_t i = 0; i < ending_signal_count; ++i)
    ::sigaction(ending_signals[i], &previous_[i], nullptr);
}

int interrupt_catcher::ending() const {
  return ending_signal;
}

int interrupt_catcher::fd() const {
  return pipe_fds[0];
}

bool interrupt_catcher::take() {
  bool pressed = false;
  char bytes[64];
  while (::read(pipe_fds[0], bytes, sizeof bytes) > 0) pressed = true;
  return pressed;
}

}  // namespace tether::cli
