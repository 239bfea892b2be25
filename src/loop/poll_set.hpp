#pragma once

#include <poll.h>
#include <sys/epoll.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "loop/deadline_timer.hpp"
#include "loop/poll_wait.hpp"
#include "transport/unique_fd.hpp"

namespace tether::loop {

/// poll_until's answer, through an epoll instance kept from one wait to the next.
///
/// A session waits on the same few descriptors (the shell's stdout, stderr and pidfd) for
/// command after command, once or twice per command. poll() hooks each descriptor onto its wait
/// queue and off again on every call; epoll registers them once.
///
/// The registrations are kept while the caller passes the same descriptors (their events may
/// change). epoll registers a file, not a number: a descriptor closed and its number given to
/// another file would leave a registration that never fires. So the caller numbers the times
/// numbers may have been reused (`generation`: a change means all are registered anew), and
/// must not pass descriptors it does not own (whose owner may close them and open others
/// meanwhile): those are for poll_until. Where epoll cannot take a descriptor (one not open, a
/// regular file, the same one twice), the wait is poll()'s.
///
/// Deadlines are kept by this thread's deadline_timer, registered with the others, rather than
/// by a timeout per wait (see deadline_timer).
class poll_set {
 public:
  /// Wait until a descriptor in `fds` is ready or `deadline` passes, as poll_until does (a
  /// signal does not end the wait); revents set as poll() sets them. Returns the number of ready
  /// descriptors, 0 when the deadline passed; -1 with errno for a real failure.
  int wait(std::span<pollfd> fds, std::optional<clock::time_point> deadline,
           std::uint64_t generation);

 private:
  [[nodiscard]] bool same_descriptors(std::span<const pollfd> fds) const;
  void register_anew(std::span<const pollfd> fds);
  void update_events(std::span<const pollfd> fds);
  int epoll_until(std::span<pollfd> fds, std::optional<clock::time_point> deadline);
  deadline_timer* this_threads_timer();
  bool watch(const deadline_timer& timer);
  int epoll_with_timeout(std::span<pollfd> fds, clock::time_point deadline);
  int report(std::span<pollfd> fds, std::span<const epoll_event> events);

  transport::unique_fd epoll_;
  std::vector<pollfd> registered_;  // fd and events of each entry, as epoll has them
  bool by_poll_ = false;            // epoll could not take `registered_`: poll() waits for it
  // The caller's, when `registered_` was registered; none at first, so the first wait registers
  // even for a caller whose generation starts at 0 and an empty list.
  std::uint64_t generation_ = UINT64_MAX;
  // This thread's deadline_timer (or the last thread's a wait ran on), and the serial of the
  // one registered in `epoll_` (0: none).
  std::shared_ptr<deadline_timer> timer_;
  std::uint64_t timer_serial_ = 0;
};

}  // namespace tether::loop
