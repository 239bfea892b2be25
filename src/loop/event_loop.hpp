#pragma once

#include <poll.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "loop/poll_wait.hpp"
#include "transport/unique_fd.hpp"

namespace tether::loop {

/// Readiness of many watchers' descriptors through one epoll instance, for a loop over many
/// sessions. Each watcher (a small number the owner chooses) says which descriptors it waits on,
/// in poll()'s terms, whenever that changes; the loop keeps epoll's interest list equal to the
/// union, touching the kernel only for what changed. Level-triggered, like poll().
class event_loop {
 public:
  event_loop();

  /// The epoll descriptor: readable when a wait would report something (to embed this loop in
  /// another one).
  [[nodiscard]] int fd() const { return epoll_.get(); }

  /// Replace what `watcher` waits on. `fresh`: descriptors it named before may have been closed
  /// since, and their numbers given to new files, so registrations are made anew rather than
  /// trusted (epoll drops a closed file's registration by itself, silently).
  void watch(std::size_t watcher, std::span<const pollfd> wanted, bool fresh);

  struct readiness {
    std::size_t watcher;
    int fd;
    short revents;  ///< poll() bits, limited to what the watcher asked for plus errors
  };
  /// Wait until a descriptor is ready or `deadline` passes (none: no limit), and append what is
  /// ready to `ready`. A signal ends the wait early with nothing appended. Returns -1 with errno
  /// for a real failure.
  int wait(std::optional<clock::time_point> deadline, std::vector<readiness>& ready);

 private:
  struct registration {
    std::uint32_t events = 0;  // as registered with the kernel; 0 = not registered
    std::vector<std::pair<std::size_t, short>> watchers;
  };
  void sync(int fd);

  transport::unique_fd epoll_;
  std::unordered_map<int, registration> registered_;
  std::unordered_map<std::size_t, std::vector<pollfd>> watched_;
  std::vector<int> touched_;
};

}  // namespace tether::loop
