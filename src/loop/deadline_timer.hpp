#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "loop/poll_wait.hpp"
#include "transport/unique_fd.hpp"

namespace tether::loop {

/// A timerfd per thread, armed lazily, that epoll waits watch instead of passing a timeout.
///
/// A wait with a timeout arms a kernel timer and cancels it again, every time: ~0.45 us of a
/// bash round trip of ~26 us (one CPU). But a session's deadlines usually come in order (each
/// command's is its start plus the same timeout), so a timer armed for one command's deadline
/// fires no later than the next command's: it can stay armed. Where they do not (a shorter
/// timeout for one command, an idle timeout, another session on the thread), the timer is armed
/// earlier: it is re-armed whenever a wait needs an earlier deadline than the armed one, and
/// after it fired (at most once per timeout for a session that keeps running commands). A wait
/// it wakes early looks again and waits on.
/// One per thread, not per session: a session waits on its caller's thread, one wait at a time,
/// and descriptors are scarce in programs with many sessions. It lives while a poll_set holds
/// it, so a program whose sessions are all gone keeps no descriptor of ours.
class deadline_timer {
 public:
  /// This thread's timer, made if it has none; nullptr if none can be made (out of
  /// descriptors: try again later).
  static std::shared_ptr<deadline_timer> of_this_thread();
  /// Whether `timer` is this thread's (cheaper than of_this_thread).
  static bool is_this_threads(const deadline_timer& timer);
  ~deadline_timer() = default;
  deadline_timer(const deadline_timer&) = delete;
  deadline_timer& operator=(const deadline_timer&) = delete;

  [[nodiscard]] int fd() const { return fd_.get(); }
  /// Different for every timer this process makes, unlike descriptor numbers.
  [[nodiscard]] std::uint64_t serial() const { return serial_; }
  /// Make sure the timer fires no later than `deadline` (earlier is allowed). False if it
  /// could not be armed.
  bool cover(clock::time_point deadline);
  /// Its descriptor was seen readable: the expiry is taken, and it is no longer armed.
  void fired();

 private:
  deadline_timer(transport::unique_fd fd, std::uint64_t serial);

  transport::unique_fd fd_;
  std::uint64_t serial_;
  std::optional<clock::time_point> armed_;  // the expiry set, until it is seen to have fired
};

}  // namespace tether::loop
