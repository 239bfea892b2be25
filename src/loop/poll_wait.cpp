#include "loop/poll_wait.hpp"

#include <errno.h>

#include <ctime>

namespace tether::loop {

int poll_until(std::span<pollfd> fds, std::optional<clock::time_point> deadline) {
  for (;;) {
    timespec remaining{};
    timespec* timeout = nullptr;
    if (deadline) {
      const auto left = *deadline - clock::now();
      if (left > clock::duration::zero()) {
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
        remaining.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
        remaining.tv_nsec = static_cast<long>(ns % 1'000'000'000);
      }
      timeout = &remaining;
    }
    // ppoll, not poll: nanosecond timeouts, so a 1.5 ms deadline is not rounded to 1 or 2 ms.
    const int ready = ::ppoll(fds.data(), fds.size(), timeout, nullptr);
    if (ready >= 0) return ready;
    if (errno != EINTR) return -1;
  }
}

}  // namespace tether::loop
