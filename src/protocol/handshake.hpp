#pragma once

#include <string_view>

namespace tether::protocol {

/// The command a session runs after the prelude, before any of the user's: it prints the
/// shell's pid (the process group a remote interrupt is sent to), then "bash" if the prelude
/// found the shell to be bash, which then gets command lines of its own (line_style::bash).
inline constexpr std::string_view handshake_command = "echo $$ ${__tether_lines-}";

/// What the handshake's output says about the shell.
struct shell_facts {
  int pid = -1;  // -1 when the output holds no pid
  bool bash = false;
};

/// Reads the handshake's output: its last line (login banners may come before it).
shell_facts read_handshake(std::string_view output);

}  // namespace tether::protocol
