#include "loop/poll_set.hpp"

#include <errno.h>
#include <sys/epoll.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <ctime>

namespace tether::loop {

namespace {

// As in poll_until: deadlines this far away are waited for in whole milliseconds, rounded up.
constexpr auto coarse_enough = std::chrono::milliseconds(50);

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

int poll_set::epoll_until(std::span<pollfd> fds, std::optional<clock::time_point> deadline) {
  constexpr int most = 8;
  epoll_event events[most];
  for (;;) {
    int ready = 0;
    if (!deadline) {
      ready = ::epoll_wait(epoll_.get(), events, most, -1);
    } else if (const auto left = *deadline - clock::now(); left >= coarse_enough) {
      const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
      ready =
          ::epoll_wait(epoll_.get(), events, most, ms < INT_MAX ? static_cast<int>(ms) : INT_MAX);
    } else {
      timespec remaining{};
      if (left > clock::duration::zero()) {
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
        remaining.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
        remaining.tv_nsec = static_cast<long>(ns % 1'000'000'000);
      }
      ready = ::epoll_pwait2(epoll_.get(), events, most, &remaining, nullptr);
      // Before Linux 5.11: no nanosecond wait on an epoll instance.
      if (ready < 0 && errno == ENOSYS) return poll_until(fds, deadline);
    }
    if (ready < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    for (auto& entry : fds) entry.revents = 0;
    for (int i = 0; i < ready; ++i) {
      auto& entry = fds[events[i].data.u64];
      entry.revents = static_cast<short>(
          events[i].events & static_cast<std::uint16_t>(entry.events | POLLERR | POLLHUP));
    }
    return ready;
  }
}

}  // namespace tether::loop
