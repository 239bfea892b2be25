// libFuzzer target: encoding any command and any stdin bytes, in both line styles. An encoded
// line must hold no newline outside single quotes but the framing's own (a bash line ends the
// command's line, and a plain command, with one, then prints the marker on a line of its own)
// and end as its style says (the marker halves, or bash's marker echo), and printf_format_for must
// only emit bytes a printf format passes through as-is.
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "protocol/command_encoder.hpp"
#include "protocol/plain_command.hpp"

namespace {

void check_line(const std::string& line, std::string_view tail) {
  if (line.size() < tail.size() ||
      line.compare(line.size() - tail.size(), tail.size(), tail) != 0) {
    std::abort();
  }
  // Outside single quotes there must be no newline before the tail (whose own newlines end
  // the command's line and the marker's): walk the quoting. The tail's backslash escapes a
  // letter, and its double quotes hold no single quote.
  bool quoted = false;
  const std::size_t tail_start = line.size() - tail.size();
  for (std::size_t i = 0; i + 1 < line.size(); ++i) {
    if (!quoted && line[i] == '\\') {
      ++i;  // outside quotes a backslash escapes the next byte (the `'\''` idiom)
      continue;
    }
    if (line[i] == '\'') quoted = !quoted;
    if (!quoted && line[i] == '\n' && i < tail_start) std::abort();
  }
  if (quoted) std::abort();
}

// What a command bash takes without eval may hold, checked apart from is_plain_command's own
// grammar: every quote closed, no newline or NUL; outside quotes no backslash, backquote,
// parenthesis, brace, comment, `!`, here-document or `$(`; no backslash or backquote inside
// double quotes.
void check_plain(std::string_view command) {
  char quote = 0;
  for (std::size_t i = 0; i < command.size(); ++i) {
    const char c = command[i];
    if (c == '\n' || c == '\0') std::abort();
    if (quote == '\'') {
      if (c == '\'') quote = 0;
      continue;
    }
    if (c == '$' && i + 1 < command.size()) {
      const char next = command[i + 1];
      if (next == '(') std::abort();
      // A special parameter's character is not itself (`$#` is no comment, `$$(` no `$(`).
      if (std::string_view("#$?@*-").find(next) != std::string_view::npos) ++i;
      if (next == '{') {  // `${NAME}`: a name, then the brace that closes it
        i += 2;
        while (i < command.size() && command[i] != '}') {
          const char n = command[i++];
          if (!std::isalnum(static_cast<unsigned char>(n)) && n != '_') std::abort();
        }
        if (i == command.size()) std::abort();
      }
      continue;
    }
    if (quote == '"') {
      if (c == '\\' || c == '`' || c == '!') std::abort();
      if (c == '"') quote = 0;
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
      continue;
    }
    if (std::string_view("\\`(){}#!").find(c) != std::string_view::npos) std::abort();
    if (c == '<' && i + 1 < command.size() && command[i + 1] == '<') std::abort();
  }
  if (quote != 0) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const tether::protocol::nonce marker{"aaaa1111", "bbbb2222"};
  using tether::protocol::encode_command;
  using tether::protocol::is_plain_command;
  check_line(encode_command(input, marker, input), " aaaa1111 bbbb2222\n");
  // bash lines, with the command's stdin from /dev/null (pipes) and without (a pty's own fd).
  for (const bool on_stdin : {true, false}) {
    const tether::protocol::line_style bash{.end_markers = tether::protocol::markers::stdout_only,
                                            .bash = true,
                                            .commands_on_stdin = on_stdin};
    const std::string bash_line = encode_command(input, marker, std::nullopt, bash);
    if (is_plain_command(input)) {
      // Carried as it is: then it must be plain by a check of this file's own.
      check_plain(input);
      // A newline ends it (an alias may end in `&` or a comment); no other newline is there.
      const std::string expected = "for _ in 1;{ " + input +
                                   (on_stdin ? "\n} </dev/null\n\\echo aaaa1111\"bbbb2222:$?\"\n"
                                             : "\n}\n\\echo aaaa1111\"bbbb2222:$?\"\n");
      if (bash_line != expected) std::abort();
      continue;
    }
    check_line(bash_line, on_stdin ? "' </dev/null;}\n\\echo aaaa1111\"bbbb2222:$?\"\n"
                                   : "';}\n\\echo aaaa1111\"bbbb2222:$?\"\n");
    if (bash_line.rfind("for _ in 1;{ \\eval '", 0) != 0) std::abort();
    // A command that starts with `-` must not reach eval as its first word (an option).
    if (bash_line[20] == '-') std::abort();
  }
  const tether::protocol::line_style bash{.end_markers = tether::protocol::markers::stdout_only,
                                          .bash = true};
  const std::string with_stdin = encode_command(input, marker, input, bash);
  check_line(with_stdin, "\";}\n__tether_rm;\\echo aaaa1111\"bbbb2222:$__tether_s\"\n");
  if (with_stdin.rfind("__tether_mk '", 0) != 0) std::abort();
  for (char c : tether::protocol::printf_format_for(input)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte == 0 || byte >= 0x80) std::abort();
  }
  return 0;
}
