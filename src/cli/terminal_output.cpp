#include "cli/terminal_output.hpp"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

namespace tether::cli {

namespace {
int closed_because = 0;  // the errno of the write that failed; 0 while output goes through
int closed_fd = -1;
bool closed_at_start[3] = {false, false, false};

void fail_output(int fd, int error) {
  closed_because = error;
  closed_fd = fd;
}

}  // namespace

void hold_closed_standard_descriptors() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    // open() takes the lowest free descriptor: this one, as the lower ones are open by now.
    if (::open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) == fd) closed_at_start[fd] = true;
  }
}

void write_all(int fd, std::string_view bytes) {
  if (fd >= 1 && fd <= 2 && closed_at_start[fd] && !bytes.empty()) fail_output(fd, EBADF);
  while (!bytes.empty() && closed_because == 0) {
    const ssize_t put = ::write(fd, bytes.data(), bytes.size());
    if (put < 0) {
      if (errno == EINTR) continue;
      // Output that cannot be written is lost: say so rather than exit 0 (a full disk, a
      // closed descriptor). EAGAIN cannot happen: our stdout and stderr are left blocking.
      fail_output(fd, errno);
      return;
    }
    bytes.remove_prefix(static_cast<std::size_t>(put));
  }
}

int status_for_closed_output() {
  if (closed_because == EPIPE) return 141;
  if (closed_fd != 2) {
    const std::string text =
        std::string("tether: cannot write the output: ") + std::strerror(closed_because) + "\n";
    const ssize_t ignored = ::write(2, text.data(), text.size());
    (void)ignored;
  }
  return 125;
}

void print_line(int fd, const std::string& text) {
  write_all(fd, text + "\n");
}

bool output_closed() {
  return closed_because != 0;
}

std::string format_seconds(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3g", value);
  return text;
}

std::string timeout_message(std::chrono::nanoseconds ran, const time_limits& limits) {
  // Which limit fired: the idle one if the command ran less than the whole-command timeout.
  const double seconds = std::chrono::duration<double>(ran).count();
  if (limits.idle_timeout_s && (limits.timeout_s <= 0 || seconds < limits.timeout_s)) {
    return "printed nothing for " + format_seconds(*limits.idle_timeout_s) + " s (--idle-timeout)";
  }
  return "timed out after " + format_seconds(limits.timeout_s > 0 ? limits.timeout_s : seconds) +
         " s";
}

}  // namespace tether::cli
