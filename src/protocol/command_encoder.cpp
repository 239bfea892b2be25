#include "protocol/command_encoder.hpp"

#include "protocol/plain_command.hpp"

#include "tether/quote.hpp"

namespace tether::protocol {

namespace {

// Why each piece is as it is (checked on dash, bash, zsh, busybox sh, mksh and ksh93, and
// measured: bash reads its stdin one byte per read(), so every byte of a command line costs):
// - A command is one short line, `__T 'cmd' nonce1 nonce2`, calling a function defined here
//   once. The command runs through eval one function further down (__tether_run), in the
//   current shell, so cd, variables and functions persist; it sees no positional parameters,
//   so it cannot print the nonce and forge its own end; and the trap's `return` leaves
//   __tether_run only, so __T still prints the markers.
// - dash and busybox sh exit when eval meets a syntax error (POSIX allows it for special
//   built-ins); `command eval` prevents that there, but zsh's `command` runs only external
//   programs and mksh's aborts the function. So a subshell probes once whether plain eval
//   survives a syntax error, and the entry points are defined to suit.
// - `trap 'return 130' INT`: a SIGINT to the shell's process group kills the command's
//   processes, and the trap makes the function return 130 instead of running the rest of the
//   command, while the shell itself survives. Set once: setting it per command cost bash 7 us.
// - `</dev/null`: a command that reads stdin must not eat the next command line.
// - No newline before the markers, so what precedes the nonce is the command's exact output.
//   The nonce comes as two words joined on output (see protocol::nonce).
// - Stdin data goes through a temporary file, because a shell may read ahead on its own stdin
//   (dash reads in blocks), so bytes written after the command line could be swallowed.
// - bash gets lines of its own, `for _ in 1;{ \eval 'cmd';}` and `\echo AAAAA"BBBBB:$?"` on a
//   line of its own (some errors make bash drop the rest of their line, eval or not). The command
//   runs at the top level, as typed at a prompt: in a function, bash's `declare` makes local
//   variables, which vanished with the command (and `local`, `return` and `set --` now behave
//   as at a prompt). eval, not the line itself, parses it, so a syntax error stays the
//   command's; the nonce is on the line, never in a variable or parameter the command could
//   print, and the quote keeps its halves apart there. The loop of one pass is what the interrupt
//   trap breaks out of (`break 1000` leaves the command's own loops too; outside any loop,
//   between commands, it does nothing and its complaint goes to /dev/null); in a function of
//   the command's it returns instead, as bash's `break` cannot cross a function. bash spends
//   more on each simple command and function call than on the bytes (callgrind, bash 5.2, per
//   `echo hi`: this line 80,000 instructions, the earlier `__B='cmd';__B;...` with a function
//   91,000, a bare `echo hi;\echo ...` 40,000), though each byte still costs about 0.2 us (a
//   read() of its own): in a bare C driver both lines take the same time. A read loop in
//   the shell (`read -N` takes a whole command in one read()) cost more: 126,000. A bash
//   command with stdin data runs the same way, `__tether_mk 'data'&&for ...;}`, then
//   `__tether_rm;\echo ...`.
//   `\eval` and `\echo`: no alias of the user's stands in for them. A command that bash is sure
//   to parse to its end (is_plain_command) skips eval and its quoting:
//   `for _ in 1;{ true`, `}`, `\echo ...` (three lines) costs bash 45,700 instructions where the
//   eval line costs 66,000 (callgrind, 5-character nonce halves). The newline, not `;`, ends it
//   because an alias in it may end in `&` or a comment.
// - zsh and mksh keep the function: at their top level `return` ends the whole shell (zsh
//   and mksh end a script there; bash only complains), and mksh cannot `break` from a trap.
// `text` for the inside of single quotes: each ' ends the quote, adds a quoted one, reopens it.
void append_single_quoted_body(std::string& out, std::string_view text) {
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
}

void append_single_quoted(std::string& out, std::string_view text) {
  out += '\'';
  append_single_quoted_body(out, text);
  out += '\'';
}

}  // namespace

std::string prelude(const prelude_options& options) {
  const std::string null_stdin = options.commands_on_fd3 ? "" : " </dev/null";
  const bool stderr_marker = options.end_markers == markers::both;
  std::string text;
  if (options.commands_on_fd3) text += "exec 3<&-\n";
  for (const char* eval : {"eval", "command eval"}) {
    text += eval[0] == 'e' ? "if (eval 'if' ; exit 0) 2>/dev/null; then\n" : "else\n";
    text += "__tether_run() { " + std::string(eval) + " \"$__tether_cmd\"" + null_stdin + "; }\n";
    text += "__tether_in() { " + std::string(eval) + " \"$__tether_cmd\" <\"$__tether_f\"; }\n";
    // bash lines (below) call eval directly: only where a syntax error leaves the shell alive.
    if (eval[0] == 'e') text += "__tether_plain_eval=1\n";
  }
  text += "fi\n";
  // __tether_cmd is set only while a command runs, and doubles as the busy flag: an interrupt
  // that arrives late (after the command ended by itself, or between commands) finds it empty
  // and does nothing, instead of skipping the next command line (dash) or ending the shell
  // (mksh). A flag of its own cost one more assignment per command.
  text +=
      "__T() { __tether_cmd=$1; __tether_run; __tether_s=$? __tether_cmd=; "
      "echo \"$2$3:$__tether_s\";";
  // printf with the nonce halves apart: under `set -x` the trace of this line then never shows
  // the joined nonce on stderr.
  text += stderr_marker ? " printf '%s%s\\n' \"$2\" \"$3\" >&2; }\n" : " }\n";
  // `>|`: the file mktemp made exists, and `set -C` (noclobber) must not refuse it.
  text +=
      "__Ti() { if __tether_f=$(mktemp) && printf \"$2\" >|\"$__tether_f\"; then "
      "__tether_cmd=$1; __tether_in; __tether_s=$? __tether_cmd=; else __tether_s=125; fi; "
      "rm -f \"$__tether_f\"; echo \"$3$4:$__tether_s\";";
  text += stderr_marker ? " printf '%s%s\\n' \"$3\" \"$4\" >&2; }\n" : " }\n";
  const std::string common_trap = "trap '[ -n \"$__tether_cmd\" ] && return 130' INT\n";
  text += common_trap;
  // bash's trap, for its own lines (see above), and ksh93's (${.sh.fun} names the
  // running function there). ksh93 may run the trap of a SIGINT that came as a command ended
  // only once the next command line runs: with the busy flag, the trap's `return` then left __T,
  // whose markers never came, or, the flag left set, a later `return` outside any function ended
  // the shell. Each shell is recognised by the feature its trap relies on, tried out, not by
  // BASH_VERSION or KSH_VERSION, which other shells take from the environment. ${.sh.fun} is a
  // substitution other shells cannot even parse: it is tried in a subshell, and only ksh93 ever
  // runs the trap that holds it. __tether_lines tells the handshake that bash lines will do:
  // bash is told from busybox's ash, which has FUNCNAME too, by an eval that takes `--`; and
  // its lines call eval directly, so only where a syntax error in eval spares the shell (not
  // in bash --posix).
  text += "__tether_probe() { [ \"${FUNCNAME-}\" = __tether_probe ]; }\n";
  text +=
      "if __tether_probe && eval -- : 2>/dev/null && [ -n \"${__tether_plain_eval-}\" ]; then\n"
      "__tether_lines=bash\n";
  // A bash line runs its command at the top level, in a loop of one pass that the trap breaks
  // out of (out of the command's own loops too); outside any loop (between commands) the break
  // does nothing, and says nothing. In a function of the command's, the trap returns from it.
  text +=
      "trap 'case ${FUNCNAME-} in \"\") break 1000 2>/dev/null;; __T|__Ti|__tether_rm) ;; "
      "*) return 130;; esac' INT\n";
  // Tried once rather than assumed of every bash version: the trap's break must leave the loop
  // a signal came in. Where it does not (or SIGINT was ignored when the shell started, so no
  // trap runs), bash keeps the common lines and trap.
  // (POSIX `do`, not bash's `{`: every shell parses this part of the prelude.)
  text += "for _ in 1; do kill -INT $$; __tether_lines=; done\n";
  text += "[ -n \"$__tether_lines\" ] || " + common_trap;
  // Stdin data for a bash line: __tether_mk writes it to a file (status 125 if it cannot);
  // __tether_rm removes the file and keeps the status for the marker. Functions, defined here,
  // so that no alias the user makes later (rm='rm -i') stands in; __tether_rm succeeds, so
  // that `set -e` does not end the shell at a command that could not be given its data.
  text +=
      "__tether_mk() { __tether_f=$(mktemp) && printf \"$1\" >|\"$__tether_f\" || return 125; }\n"
      "__tether_rm() { __tether_s=$?; [ -z \"$__tether_f\" ] || rm -f \"$__tether_f\" || :; }\n";
  text += "elif (eval '__p() { [ \"${.sh.fun}\" = __p ]; }; __p') 2>/dev/null; then\n";
  text += "trap 'case ${.sh.fun-} in \"\"|__T|__Ti) ;; *) return 130;; esac' INT\n";
  text += "fi\nunset -f __tether_probe\nunset __tether_plain_eval\n";
  return text;
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
                           const std::optional<std::string>& stdin_data, const line_style& style) {
  std::string line;
  encode_command_into(line, command, marker, stdin_data, style);
  return line;
}

void encode_command_into(std::string& line, std::string_view command, const nonce& marker,
                         const std::optional<std::string>& stdin_data, const line_style& style) {
  line.reserve(line.size() + command.size() + marker.first.size() + marker.second.size() + 48);
  if (style.bash) {
    if (stdin_data) {
      line += "__tether_mk ";
      append_single_quoted(line, printf_format_for(*stdin_data));
      line += "&&";
    }
    if (!stdin_data && is_plain_command(command)) {
      // A newline, not `;`, ends the command: an alias it names may end in `&` or a comment,
      // which `;` would turn into a syntax error (bash reading a script exits on one) or into
      // part of the comment. For the same reason /dev/null goes on the group, not the command.
      line += "for _ in 1;{ ";
      line += command;
      line += style.commands_on_stdin ? "\n} </dev/null\n\\echo " : "\n}\n\\echo ";
    } else {
      // A space before a command that starts with `-`, which eval would take for an option.
      line += command.starts_with('-') ? "for _ in 1;{ \\eval ' " : "for _ in 1;{ \\eval '";
      append_single_quoted_body(line, command);
      if (stdin_data) {
        line += "' <\"$__tether_f\";}\n__tether_rm;\\echo ";
      } else {
        line += style.commands_on_stdin ? "' </dev/null;}\n\\echo " : "';}\n\\echo ";
      }
    }
    // The marker goes on a line of its own (above): some errors make bash drop the rest of the
    // line they happen on, even through eval (an assignment to a readonly variable, `n=1/0`
    // with `declare -i n`, no match under failglob); the next line still runs.
    line += marker.first;
    line += '"';
    line += marker.second;
    line += stdin_data ? ":$__tether_s\"" : ":$?\"";
    if (style.end_markers == markers::both) {
      // A space before >&2: a nonce half of digits only would otherwise name a descriptor.
      line += ";\\printf '%s%s\\n' ";
      line += marker.first;
      line += ' ';
      line += marker.second;
      line += " >&2";
    }
    line += '\n';
    return;
  }
  line += stdin_data ? "__Ti " : "__T ";
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
}

}  // namespace tether::protocol
