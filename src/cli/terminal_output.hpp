#pragma once

#include <string>
#include <string_view>

namespace tether::cli {

/// Write all of `bytes` to `fd`, retrying short writes. When the reader has gone (EPIPE; main()
/// ignores SIGPIPE so that this is an error we see), note it in output_closed() and stop
/// writing: the caller then ends its sessions cleanly.
void write_all(int fd, std::string_view bytes);
void print_line(int fd, const std::string& text);
[[nodiscard]] bool output_closed();

/// "1.5", "0.25", "120": seconds for messages.
std::string format_seconds(double value);

}  // namespace tether::cli
