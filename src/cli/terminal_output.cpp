#include "cli/terminal_output.hpp"

#include <errno.h>
#include <unistd.h>

#include <cstdio>

namespace tether::cli {

namespace {
bool closed = false;
}  // namespace

void write_all(int fd, std::string_view bytes) {
  while (!bytes.empty() && !closed) {
    const ssize_t put = ::write(fd, bytes.data(), bytes.size());
    if (put < 0) {
      if (errno == EINTR) continue;
      if (errno == EPIPE) closed = true;
      return;
    }
    bytes.remove_prefix(static_cast<std::size_t>(put));
  }
}

void print_line(int fd, const std::string& text) {
  write_all(fd, text + "\n");
}

bool output_closed() {
  return closed;
}

std::string format_seconds(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3g", value);
  return text;
}

}  // namespace tether::cli
