#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tether::protocol {

/// The two halves of a command's end marker. The shell prints them joined, so the marker as
/// printed never appears in the command line itself (which a pty may echo back).
struct nonce {
  std::string first;
  std::string second;
  [[nodiscard]] std::string joined() const { return first + second; }
};

/// Which end markers the shell prints after each command.
enum class markers {
  /// `<nonce>:<status>\n` on stdout and `<nonce>\n` on stderr: needed wherever the two
  /// streams may be reordered on the way (ssh, or any relay such as `docker exec`).
  both,
  /// Only the stdout marker: for a shell that writes straight into our pipes. The kernel then
  /// orders the streams for us: when the stdout marker has been read, all the command's stderr
  /// bytes are already in the stderr pipe, and one drain completes them. Saves the shell a
  /// redirect and a write per command (the dearest part of a round trip).
  stdout_only,
};

/// Shell code sent once per session that defines the functions each command calls. Defining
/// them once keeps every later command line short: bash reads its stdin one byte per read().
std::string_view prelude(markers kind = markers::both);

/// The bytes that run `command` in the session and then print its end markers: on stdout
/// `<nonce>:<status>\n`, on stderr `<nonce>\n`. With `stdin_data`, the command reads those
/// bytes (written to a temporary file on the shell's side) instead of /dev/null.
std::string encode_command(std::string_view command, const nonce& marker,
                           const std::optional<std::string>& stdin_data = std::nullopt);

/// `bytes` as a printf(1) format that prints exactly those bytes in every POSIX shell:
/// `%` and `\` doubled, NUL and non-ASCII bytes as three-digit octal escapes.
std::string printf_format_for(std::string_view bytes);

}  // namespace tether::protocol
