#include "transport/pipe_write.hpp"

#include <errno.h>
#include <sys/uio.h>

#include <atomic>

#include "transport/sigpipe_guard.hpp"

namespace tether::transport {

namespace {

// From linux/fs.h, 6.18; older headers do not have it. Kernels before 6.18 refuse the flag
// with EOPNOTSUPP (pwritev2 checks its flags), so asking is safe.
#ifndef RWF_NOSIGNAL
constexpr int RWF_NOSIGNAL = 0x00000100;
#endif

// Cleared the first time the kernel refuses the flag.
std::atomic<bool> nosignal_flag_known{true};

ssize_t write_with_flag(int fd, std::string_view bytes) {
  iovec piece{const_cast<char*>(bytes.data()), bytes.size()};
  ssize_t put = 0;
  do {
    put = ::pwritev2(fd, &piece, 1, -1, RWF_NOSIGNAL);  // offset -1: as write(2)
  } while (put < 0 && errno == EINTR);
  return put;
}

ssize_t write_under_guard(int fd, std::string_view bytes) {
  ssize_t put = 0;
  int failure = 0;
  {
    sigpipe_guard guard;
    do {
      put = ::write(fd, bytes.data(), bytes.size());
    } while (put < 0 && errno == EINTR);
    if (put < 0) failure = errno;
    if (failure == EPIPE) guard.note_broken_pipe();
  }
  // The guard's own calls on its way out (sigtimedwait) may have set errno.
  if (put < 0) errno = failure;
  return put;
}

}  // namespace

sigpipe_avoidance best_sigpipe_avoidance() {
  return nosignal_flag_known.load(std::memory_order_relaxed) ? sigpipe_avoidance::nosignal_flag
                                                             : sigpipe_avoidance::guard;
}

ssize_t write_without_sigpipe(int fd, std::string_view bytes) {
  return write_without_sigpipe(fd, bytes, best_sigpipe_avoidance());
}

ssize_t write_without_sigpipe(int fd, std::string_view bytes, sigpipe_avoidance how) {
  if (how == sigpipe_avoidance::nosignal_flag) {
    const ssize_t put = write_with_flag(fd, bytes);
    // EOPNOTSUPP: a kernel before 6.18 (glibc reports a kernel without pwritev2, before 4.6,
    // the same way when flags are given).
    if (put >= 0 || errno != EOPNOTSUPP) return put;
    nosignal_flag_known.store(false, std::memory_order_relaxed);
  }
  return write_under_guard(fd, bytes);
}

}  // namespace tether::transport
