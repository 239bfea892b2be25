#pragma once

#include <signal.h>

#include <ctime>

namespace tether::transport {

/// Blocks SIGPIPE on this thread for its lifetime, and swallows the SIGPIPE that a write to a
/// closed pipe raised, so that the write reports EPIPE instead of killing the user's program.
/// A library may not install a signal handler, and may not eat a SIGPIPE the program had
/// pending for its own reasons: one that was already pending is left alone.
class sigpipe_guard {
 public:
  sigpipe_guard() {
    sigset_t pipe_only;
    ::sigemptyset(&pipe_only);
    ::sigaddset(&pipe_only, SIGPIPE);
    ::pthread_sigmask(SIG_BLOCK, &pipe_only, &previous_);
    if (::sigismember(&previous_, SIGPIPE) == 1) {
      // Only a blocked signal can sit pending, so ask only then.
      sigset_t pending;
      ::sigpending(&pending);
      was_pending_ = ::sigismember(&pending, SIGPIPE) == 1;
    }
  }
  sigpipe_guard(const sigpipe_guard&) = delete;
  sigpipe_guard& operator=(const sigpipe_guard&) = delete;

  /// A write under this guard failed with EPIPE, so a SIGPIPE is now pending.
  void note_broken_pipe() { broken_ = true; }

  ~sigpipe_guard() {
    if (broken_ && !was_pending_) {
      sigset_t pipe_only;
      ::sigemptyset(&pipe_only);
      ::sigaddset(&pipe_only, SIGPIPE);
      const timespec no_wait{};
      ::sigtimedwait(&pipe_only, nullptr, &no_wait);
    }
    ::pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  }

 private:
  sigset_t previous_{};
  bool was_pending_ = false;
  bool broken_ = false;
};

}  // namespace tether::transport
