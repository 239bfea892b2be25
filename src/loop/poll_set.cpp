#include "loop/poll_set.hpp"

#include <errno.h>

#include <algorithm>
#include <climits>
#include <cstdint>

namespace tether::loop {

namespace {

// As in poll_until: deadlines this far away are waited for in whole milliseconds, rounded up.
constexpr auto coarse_enough = std::chrono::milliseconds(50);

// The epoll data of the deadline timer's registration; the others carry their index in fds.
constexpr std::uint64_t timer_entry = UINT64_MAX;

constexpr int most_events = 8;

epoll_event interest_in(const pollfd& entry, std::size_t index) {
  epoll_event interest{};
  interest.events = static_cast<std::uint16_t>(entry.events);  // EPOLLIN == POLLIN, ...
  interest.data.u64 = index;
  return interest;
}

}  // namespace

int poll_set::wait(std::span<pollfd> fds, std::optional<clock::time_point> deadline,
                   std::uint64_t generation) {
  if (generation != generation_ || !same_descriptors(fds)) {
    generation_ = generation;
    register_anew(fds);
  } else if (!by_poll_) {
    update_events(fds);
  }
  if (by_poll_) return poll_until(fds, deadline);
  return epoll_until(fds, deadline);
}

bool poll_set::same_descriptors(std::span<const pollfd> fds) const {
  return std::equal(fds.begin(), fds.end(), registered_.begin(), registered_.end(),
                    [](const pollfd& a, const pollfd& b) { return a.fd == b.fd; });
}

// A new instance rather than deletions from the old one: a registration of a file since closed
// here but still open elsewhere (and so not dropped by the kernel) cannot linger.
void poll_set::register_anew(std::span<const pollfd> fds) {
  registered_.assign(fds.begin(), fds.end());
  by_poll_ = true;
  timer_serial_ = 0;
  epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_) return;
  for (std::size_t i = 0; i < fds.size(); ++i) {
    if (fds[i].fd < 0) continue;  // poll() skips these too
    epoll_event interest = interest_in(fds[i], i);
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fds[i].fd, &interest) != 0) {
      epoll_.reset();
      return;
    }
  }
  by_poll_ = false;
}

// Same descriptors, perhaps other events (a transport that wants POLLOUT while it has bytes to
// send): changed in place.
void poll_set::update_events(std::span<const pollfd> fds) {
  for (std::size_t i = 0; i < fds.size(); ++i) {
    if (fds[i].fd < 0 || fds[i].events == registered_[i].events) continue;
    epoll_event interest = interest_in(fds[i], i);
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fds[i].fd, &interest) != 0) {
      register_anew(fds);
      return;
    }
    registered_[i].events = fds[i].events;
  }
}

// This thread's timer, registered in this instance (epoll_until has dropped any other).
bool poll_set::watch(const deadline_timer& timer) {
  if (timer_serial_ == timer.serial()) return true;
  epoll_event interest{};
  interest.events = EPOLLIN;
  interest.data.u64 = timer_entry;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, timer.fd(), &interest) != 0) return false;
  timer_serial_ = timer.serial();
  return true;
}

deadline_timer* poll_set::this_threads_timer() {
  if (!timer_ || !deadline_timer::is_this_threads(*timer_))
    timer_ = deadline_timer::of_this_thread();
  return timer_.get();
}

int poll_set::epoll_until(std::span<pollfd> fds, std::optional<clock::time_point> deadline) {
  deadline_timer* const timer = this_threads_timer();
  if (timer_serial_ != 0 && (timer == nullptr || timer->serial() != timer_serial_)) {
    // Another thread's timer (the session moved): this thread could not take its expiry, and
    // the wait would spin on it.
    const std::vector<pollfd> kept = registered_;
    register_anew(kept);
    if (by_poll_) return poll_until(fds, deadline);
  }
  for (;;) {
    int timeout_ms = -1;
    if (deadline) {
      if (*deadline <= clock::now()) {
        timeout_ms = 0;  // due: only what is ready now
      } else if (timer == nullptr || !timer->cover(*deadline) || !watch(*timer)) {
        return epoll_with_timeout(fds, *deadline);
      }
    }
    epoll_event events[most_events];
    const int ready = ::epoll_wait(epoll_.get(), events, most_events, timeout_ms);
    if (ready < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    const int reported = report(fds, std::span<const epoll_event>(events, ready));
    if (reported > 0 || timeout_ms == 0) return reported;
    // Only the timer, which may have been set for an earlier deadline: look again.
  }
}

// Without the shared timer (none could be made): the wait's own timeout, in milliseconds for a
// deadline far enough away that rounding up does not matter; a near one is poll()'s, in
// nanoseconds (epoll_pwait2 would need Linux 5.11 and glibc 2.35).
int poll_set::epoll_with_timeout(std::span<pollfd> fds, clock::time_point deadline) {
  for (;;) {
    const auto left = deadline - clock::now();
    if (left < coarse_enough) return poll_until(fds, deadline);
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
    epoll_event events[most_events];
    const int ready = ::epoll_wait(epoll_.get(), events, most_events,
                                   ms < INT_MAX ? static_cast<int>(ms) : INT_MAX);
    if (ready < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    const int reported = report(fds, std::span<const epoll_event>(events, ready));
    if (reported > 0 || clock::now() >= deadline) return reported;
  }
}

// Sets revents from what epoll said; returns how many of `fds` are ready. The timer's expiry
// is taken.
int poll_set::report(std::span<pollfd> fds, std::span<const epoll_event> events) {
  for (auto& entry : fds) entry.revents = 0;
  int reported = 0;
  for (const auto& event : events) {
    if (event.data.u64 == timer_entry) {
      timer_->fired();  // registered only while it is this thread's (epoll_until)
      continue;
    }
    auto& entry = fds[event.data.u64];
    entry.revents = static_cast<short>(
        event.events & static_cast<std::uint16_t>(entry.events | POLLERR | POLLHUP));
    if (entry.revents != 0) ++reported;
  }
  return reported;
}

}  // namespace tether::loop
