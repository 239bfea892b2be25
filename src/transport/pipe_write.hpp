#pragma once

#include <sys/types.h>

#include <string_view>

namespace tether::transport {

/// How a write to a pipe whose reader may be gone is kept from raising SIGPIPE, which would
/// kill the user's program (a library may not install a handler, nor ignore the signal).
enum class sigpipe_avoidance {
  /// pwritev2 with RWF_NOSIGNAL (Linux 6.18): EPIPE instead of the signal, in the one call.
  nosignal_flag,
  /// The write under a sigpipe_guard: two sigprocmask calls more per write (~0.6 us).
  guard,
};

/// The way this kernel allows: the flag where it knows it, else the guard.
sigpipe_avoidance best_sigpipe_avoidance();

/// write(2) of `bytes` to `fd`, failing with EPIPE (errno) instead of raising SIGPIPE; retried
/// on EINTR. Returns what write(2) returns.
ssize_t write_without_sigpipe(int fd, std::string_view bytes);
/// The same, the way asked (tests try each).
ssize_t write_without_sigpipe(int fd, std::string_view bytes, sigpipe_avoidance how);

}  // namespace tether::transport
