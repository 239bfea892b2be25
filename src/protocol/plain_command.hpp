#pragma once

#include <string_view>

namespace tether::protocol {

/// Whether bash may read `command` as part of its own line, without eval: a list of simple
/// commands (`;`, `&`, `|`, `|&`, `&&`, `||` between them) made of words and redirections,
/// where a word is plain characters (letters, digits, `_./:=,+@-%^*?[]~`), single-quoted text,
/// double-quoted text without backslashes, backquotes or `!`, and `$NAME`, `${NAME}` or a
/// special parameter (`$?`, `$1`, ...); no reserved word anywhere, no here-document, no
/// substitution of a command, no subshell, group or comment.
///
/// Such a command cannot be a syntax error, which in a script would end bash (inside eval it is
/// only the command's failure), and cannot reach past its own end on the line: only an alias
/// whose value is no complete command could make it either. Anything else goes through eval.
bool is_plain_command(std::string_view command);

}  // namespace tether::protocol
