#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace tether::cli {

/// Write all of `bytes` to `fd`, retrying short writes. When the output cannot take more (the
/// reader has gone: EPIPE, as main() ignores SIGPIPE; or a full disk, a closed descriptor),
/// note it in output_closed() and stop writing: the caller then ends its sessions cleanly.
void write_all(int fd, std::string_view bytes);
void print_line(int fd, const std::string& text);
[[nodiscard]] bool output_closed();
/// Called first thing: a standard descriptor closed by whoever started us would be the next
/// pipe or pidfd opened, and output meant for it would go there (into a shell's stdin, say).
/// They are held with /dev/null instead, and writing to stdout or stderr then fails as writing
/// to a closed descriptor does (EBADF).
void hold_closed_standard_descriptors();
/// tether's exit status once output_closed(): 141 when the reader went away (as a program
/// killed by SIGPIPE would report), else 125 (tether failed) after saying why on stderr.
int status_for_closed_output();

/// "1.5", "0.25", "120": seconds for messages.
std::string format_seconds(double value);

/// The limits commands ran under, to tell a timeout from an idle timeout when reporting one.
struct time_limits {
  double timeout_s = 0;  // 0: none
  std::optional<double> idle_timeout_s;
};

/// What a command that timed out after running `ran` hit, in a few words: "printed nothing for
/// 2 s (--idle-timeout)" or "timed out after 5 s".
std::string timeout_message(std::chrono::nanoseconds ran, const time_limits& limits);

}  // namespace tether::cli
