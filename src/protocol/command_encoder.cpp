#include "protocol/command_encoder.hpp"

#include "tether/quote.hpp"

namespace tether::protocol {

namespace {

// Why each piece is as it is (checked on dash, bash, zsh, busybox sh, mksh and ksh93):
// - The command runs through eval inside a function of the current shell, so cd, variables and
//   functions persist, and it has no positional parameters.
// - The INT trap is set only while the command runs: a SIGINT to the shell's process group then
//   kills the command's processes and makes __tether_run return 130, while the shell itself
//   survives (`trap : INT` outside). This is how a timeout interrupts without losing the session.
// - No newline is printed before the markers: everything before the nonce is the exact output.
// - The nonce comes as two arguments joined on output (see protocol::nonce).
// - Stdin data goes through a temporary file because a shell may read ahead on its own stdin
//   (dash reads in blocks), so data after the command line could be swallowed by the shell.
constexpr std::string_view prelude_text =
    "__tether_run() { trap 'trap : INT; return 130' INT; eval \"$__tether_cmd\" </dev/null; }\n"
    "__tether_runi() { trap 'trap : INT; return 130' INT; eval \"$__tether_cmd\" "
    "<\"$__tether_f\"; }\n"
    "__tether_end() { trap : INT; printf '%s%s:%d\\n' \"$1\" \"$2\" \"$3\"; "
    "printf '%s%s\\n' \"$1\" \"$2\" >&2; }\n"
    "__tether() { __tether_cmd=$1; __tether_run; __tether_end \"$2\" \"$3\" $?; }\n"
    "__tether_i() { __tether_cmd=$1; if __tether_f=$(mktemp); then printf \"$2\" "
    ">\"$__tether_f\"; __tether_runi; __tether_s=$?; rm -f \"$__tether_f\"; "
    "else __tether_s=125; fi; __tether_end \"$3\" \"$4\" $__tether_s; }\n"
    "trap : INT\n";

void append_single_quoted(std::string& out, std::string_view text) {
  out += '\'';
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  out += '\'';
}

}  // namespace

std::string_view prelude() {
  return prelude_text;
}

std::string printf_format_for(std::string_view bytes) {
  std::string format;
  format.reserve(bytes.size() + bytes.size() / 8);
  for (char c : bytes) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '%') {
      format += "%%";
    } else if (c == '\\') {
      format += "\\\\";
    } else if (byte == 0 || byte >= 0x80) {
      // Octal escapes for NUL (no shell string can hold it) and for non-ASCII bytes, which a
      // locale-aware printf (zsh, ksh93) might otherwise treat as broken characters.
      format += '\\';
      format += static_cast<char>('0' + ((byte >> 6) & 7));
      format += static_cast<char>('0' + ((byte >> 3) & 7));
      format += static_cast<char>('0' + (byte & 7));
    } else {
      format += c;
    }
  }
  return format;
}

std::string encode_command(std::string_view command, const nonce& marker,
                           const std::optional<std::string>& stdin_data) {
  std::string line;
  line.reserve(command.size() + marker.first.size() + marker.second.size() + 24);
  line += stdin_data ? "__tether_i " : "__tether ";
  append_single_quoted(line, command);
  if (stdin_data) {
    line += ' ';
    append_single_quoted(line, printf_format_for(*stdin_data));
  }
  line += ' ';
  line += marker.first;
  line += ' ';
  line += marker.second;
  line += '\n';
  return line;
}

}  // namespace tether::protocol
