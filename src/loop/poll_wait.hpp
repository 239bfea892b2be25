#pragma once

#include <poll.h>

#include <chrono>
#include <optional>
#include <span>

namespace tether::loop {

using clock = std::chrono::steady_clock;

/// Wait until a descriptor in `fds` is ready or `deadline` passes (no deadline: wait for
/// readiness only). A signal that interrupts the wait does not end it: the remaining time is
/// recomputed from the absolute deadline and the wait goes on. Returns the number of ready
/// descriptors, 0 when the deadline passed first; -1 with errno for a real failure.
int poll_until(std::span<pollfd> fds, std::optional<clock::time_point> deadline);

}  // namespace tether::loop
