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

/// How the shell at the other end was started, which decides the prelude.
struct prelude_options {
  markers end_markers = markers::both;
  /// The shell reads its commands from descriptor 3 (started as `sh /dev/fd/3` with the command
  /// pipe there) and its stdin is /dev/null. Then no command can read the command stream, and
  /// the `</dev/null` redirect per command (5 syscalls, a third of bash's round trip) goes.
  /// Descriptor 3 itself is closed first thing: the shell reads the script through a
  /// descriptor of its own by then, and commands must not inherit it.
  bool commands_on_fd3 = false;
};

/// Shell code sent once per session that defines the functions each command calls. Defining
/// them once keeps every later command line short: bash reads its stdin one byte per read().
std::string prelude(const prelude_options& options = {});

/// How command lines are written for the shell at the other end, once the handshake has told
/// which shell that is.
struct line_style {
  /// The markers the prelude was told to print (prelude_options::end_markers).
  markers end_markers = markers::both;
  /// The shell is bash: command lines of its own run the command at the top level (see the
  /// prelude).
  bool bash = false;
  /// Commands come on the shell's stdin (prelude_options::commands_on_fd3 is false): a bash
  /// line gives its command /dev/null instead.
  bool commands_on_stdin = true;
};

/// The bytes that run `command` in the session and then print its end markers: on stdout
/// `<nonce>:<status>\n`, on stderr `<nonce>\n` (unless style.end_markers says stdout only).
/// With `stdin_data`, the command reads those bytes (written to a temporary file on the
/// shell's side) instead of /dev/null.
std::string encode_command(std::string_view command, const nonce& marker,
                           const std::optional<std::string>& stdin_data = std::nullopt,
                           const line_style& style = {});
/// encode_command, appending to `line`: a session reuses one buffer for all its command lines.
void encode_command_into(std::string& line, std::string_view command, const nonce& marker,
                         const std::optional<std::string>& stdin_data, const line_style& style);

/// `bytes` as a printf(1) format that prints exactly those bytes in every POSIX shell:
/// `%` and `\` doubled, NUL and non-ASCII bytes as three-digit octal escapes.
std::string printf_format_for(std::string_view bytes);

}  // namespace tether::protocol
