#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "loop/poll_wait.hpp"
#include "tether/session.hpp"
#include "transport/ssh_transport.hpp"

// How a session's shell is started: which program with which arguments, and which variant of
// the framing protocol it gets. Pure functions of the session's options.
namespace tether::session_detail {

using loop::clock;

/// A user's timeout as a deadline length; nullopt for "none" (<= 0, NaN, or beyond a year).
std::optional<clock::duration> to_limit(seconds value);

/// ksh93 reports a command killed by signal N as 256 + N; every other shell says 128 + N.
int normalise_status(int status);

/// The argv that runs a command line such as "bash --norc" or "FOO=1 zsh" as the shell itself.
std::vector<std::string> argv_for_command_line(const std::string& line);

/// The ssh client command for "ssh://[user@]host[:port]"; throws errc::invalid_argument.
transport::ssh_command ssh_command_for_target(const std::string& text, const ssh_options& settings);

/// A command line made of plain words (no quoting, expansion or operators), split on blanks;
/// nullopt for anything a shell would read differently.
std::optional<std::vector<std::string>> plain_words(const std::string& line);

/// "ssh [args] host" as plain words, IPC::Session's form, without the "ssh"; nullopt otherwise.
std::optional<std::vector<std::string>> ssh_words(const std::string& line);

transport::ssh_command ssh_command_for_words(std::vector<std::string> words,
                                             const ssh_options& settings);

/// A POSIX shell run directly, which writes into our pipes itself: its two streams reach us in
/// order (protocol::markers::stdout_only). Anything else may be a relay (ssh, docker exec,
/// kubectl exec) that reorders them, and gets both markers.
bool is_known_local_shell(const std::vector<std::string>& argv);

/// Whether `argv /dev/fd/3` makes this known shell read its commands from that file.
bool reads_a_script_argument(const std::vector<std::string>& argv);

/// A command for messages: quoted, cut at 60 characters.
std::string describe_command(std::string_view command);

}  // namespace tether::session_detail
