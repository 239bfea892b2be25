#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace tether::cli {

/// Whether a piece of shell text parses to its end (a command, not the start of one).
using completeness_check = std::function<bool(const std::string& text)>;

/// Cut a script into its top-level commands: one per line, unless a command spans lines (if,
/// for, while, case, { }, ( ), an open quote, a trailing backslash, && or |, a here-document),
/// in which case lines are joined until `complete` says the text parses. Blank lines and
/// comment lines between commands are dropped. Text left incomplete at the end is the last
/// command (the shell reports its syntax error).
std::vector<std::string> split_script(std::string_view script, const completeness_check& complete);

/// A completeness_check asking `bash -n` (`/bin/sh -n` without bash): parse errors that mean "the
/// text stopped too early" (end of file, unterminated quote) say incomplete; any other error says
/// complete, so the shell itself reports it when the command runs.
bool shell_says_complete(const std::string& text);

}  // namespace tether::cli
