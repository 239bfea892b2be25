#pragma once

#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

namespace tether {

/// Quote one word for any POSIX shell so that it reaches a command as exactly these bytes:
/// `it's` becomes `'it'\''s'`. Words made only of safe characters are returned unchanged.
/// The result is one shell word; NUL bytes cannot be passed to a command by any shell and
/// make this throw tether::error(errc::invalid_argument).
std::string shell_quote(std::string_view word);

/// Quote every word and join them with spaces: `{"ls", "-l", "my dir"}` -> `ls -l 'my dir'`.
std::string shell_join(std::span<const std::string> words);
std::string shell_join(std::initializer_list<std::string_view> words);

}  // namespace tether
