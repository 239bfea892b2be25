#include "loop/poll_wait.hpp"

#include <errno.h>

#include <climits>
#include <ctime>

namespace tether::loop {

namespace {

// Deadlines this far away are waited for with poll()'s whole milliseconds, rounded up: waking
// up to 1 ms late does not matter there. ppoll() costs ~0.15 us more per call (it writes the
// time left back, measured on Linux 6.18), and a command waits once or twice.
constexpr auto coarse_enough = std::chrono::milliseconds(50);

}  // namespace

int poll_until(std::span<pollfd> fds, std::optional<clock::time_point> deadline) {
  for (;;) {
    int ready = 0;
    if (!deadline) {
      ready = ::poll(fds.data(), fds.size(), -1);
    } else if (const auto left = *deadline - clock::now(); left >= coarse_enough) {
      const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
      ready = ::poll(fds.data(), fds.size(), ms < INT_MAX ? static_cast<int>(ms) : INT_MAX);
    } else {
      // ppoll: nanoseconds, so a 1.5 ms deadline is not rounded to 1 or 2 ms.
      timespec remaining{};
      if (left > clock::duration::zero()) {
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
        remaining.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
        remaining.tv_nsec = static_cast<long>(ns % 1'000'000'000);
      }
      ready = ::ppoll(fds.data(), fds.size(), &remaining, nullptr);
    }
    if (ready >= 0) return ready;
    if (errno != EINTR) return -1;
  }
}

}  // namespace tether::loop
