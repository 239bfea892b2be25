#include "loop/event_loop.hpp"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "tether/error.hpp"

namespace tether::loop {

event_loop::event_loop() : epoll_(::epoll_create1(EPOLL_CLOEXEC)) {
  if (!epoll_) {
    throw error(errc::io_failed,
                std::string("cannot create an epoll instance: ") + ::strerror(errno));
  }
}

void event_loop::watch(std::size_t watcher, std::span<const pollfd> wanted, bool fresh) {
  auto& before = watched_[watcher];
  touched_.clear();
  for (const auto& old : before) {
    auto found = registered_.find(old.fd);
    if (found == registered_.end()) continue;
    auto& list = found->second.watchers;
    std::erase_if(list, [watcher](const auto& entry) { return entry.first == watcher; });
    if (fresh && found->second.events != 0) {
      // The kernel may have dropped it already (the file was closed): an error is expected.
      ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, old.fd, nullptr);
      found->second.events = 0;
    }
    touched_.push_back(old.fd);
  }
  before.assign(wanted.begin(), wanted.end());
  for (const auto& entry : wanted) {
    if (entry.fd < 0) continue;  // poll() skips these too
    registered_[entry.fd].watchers.emplace_back(watcher, entry.events);
    touched_.push_back(entry.fd);
  }
  std::sort(touched_.begin(), touched_.end());
  touched_.erase(std::unique(touched_.begin(), touched_.end()), touched_.end());
  for (const int fd : touched_) sync(fd);
  if (before.empty()) watched_.erase(watcher);
}

void event_loop::sync(int fd) {
  auto found = registered_.find(fd);
  if (found == registered_.end()) return;
  auto& entry = found->second;
  std::uint32_t events = 0;
  for (const auto& [watcher, wanted] : entry.watchers) events |= static_cast<std::uint16_t>(wanted);
  if (entry.watchers.empty()) {
    if (entry.events != 0) ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
    registered_.erase(found);
    return;
  }
  // A descriptor with no wanted events still reports errors and hang-ups, as in poll().
  if (events == 0) events = EPOLLERR;
  if (events == entry.events) return;
  epoll_event change{};
  change.events = events;
  change.data.fd = fd;
  int op = entry.events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
  int done = ::epoll_ctl(epoll_.get(), op, fd, &change);
  if (done < 0 && op == EPOLL_CTL_MOD && errno == ENOENT) {
    done = ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &change);
  } else if (done < 0 && op == EPOLL_CTL_ADD && errno == EEXIST) {
    done = ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &change);
  }
  if (done < 0) {
    throw error(errc::io_failed,
                "cannot watch descriptor " + std::to_string(fd) + ": " + ::strerror(errno));
  }
  entry.events = events;
}

int event_loop::wait(std::optional<clock::time_point> deadline, std::vector<readiness>& ready) {
  int timeout_ms = -1;
  if (deadline) {
    const auto left = std::chrono::duration<double, std::milli>(*deadline - clock::now()).count();
    // Rounded up: waking before the deadline would only spin.
    timeout_ms = left <= 0 ? 0 : static_cast<int>(std::min(std::ceil(left), 3600.0 * 1000));
  }
  epoll_event events[256];
  const int count = ::epoll_wait(epoll_.get(), events, 256, timeout_ms);
  if (count < 0) return errno == EINTR ? 0 : -1;
  for (int i = 0; i < count; ++i) {
    const int fd = events[i].data.fd;
    const auto found = registered_.find(fd);
    if (found == registered_.end()) continue;
    for (const auto& [watcher, wanted] : found->second.watchers) {
      const auto bits = static_cast<short>(events[i].events &
                                           static_cast<std::uint32_t>(wanted | POLLERR | POLLHUP));
      if (bits != 0) ready.push_back({watcher, fd, bits});
    }
  }
  return count;
}

}  // namespace tether::loop
