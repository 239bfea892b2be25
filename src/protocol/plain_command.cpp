#include "protocol/plain_command.hpp"

#include <algorithm>
#include <array>
#include <cstddef>

// A small recogniser of a subset of bash's grammar, not a parser: it only has to be sure that
// what it accepts parses, and parses to the end of the command. Whatever it is unsure of it
// refuses, and eval takes it (about 20,000 more instructions of bash's per command).
namespace tether::protocol {
namespace {

bool is_name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_name_char(char c) {
  return is_name_start(c) || (c >= '0' && c <= '9');
}

// Characters that stand for themselves in an unquoted word (globs and `~` are expanded, but
// never change how the line parses: extglob's `@(` needs a parenthesis, which is refused).
bool is_plain_char(char c) {
  return is_name_char(c) || std::string_view("./:=,+@-%^*?[]~").find(c) != std::string_view::npos;
}

// `{`, `}` and `!` are reserved too, but refused as characters; `[[` would read on to its `]]`.
bool is_reserved_word(std::string_view word) {
  static constexpr std::array<std::string_view, 19> reserved = {
      "if", "then", "elif", "else", "fi",     "time",   "for",      "in", "until", "while",
      "do", "done", "case", "esac", "coproc", "select", "function", "[[", "]]"};
  return std::ranges::find(reserved, word) != reserved.end();
}

class recogniser {
 public:
  explicit recogniser(std::string_view text) : text_(text) {}

  bool accepts() {
    // Whether the command so far may end here: not empty, not after `|`, `&&` or `||`.
    bool may_end = false;
    bool in_command = false;  // the current simple command has a word or a redirection
    while (skip_blanks()) {
      const char c = text_[at_];
      if (c == ';' || c == '&' || c == '|') {
        if (c == '&' && next_is(1, '>')) {  // `&>` and `&>>` redirect
          if (!redirection()) return false;
          in_command = may_end = true;
          continue;
        }
        if (!in_command) return false;  // `;;`, `; ;`, a leading operator: syntax errors
        const bool two = next_is(1, c) || (c == '|' && next_is(1, '&'));
        if (c == ';' && (two || next_is(1, '&'))) return false;  // `;;`, `;&`: case's
        at_ += two ? 2 : 1;
        in_command = false;
        may_end = (c == ';' || c == '&') && !two;
        continue;
      }
      if (c == '<' || c == '>') {
        if (!redirection()) return false;
      } else if (!word(/*reserved_counts=*/true)) {
        return false;
      }
      in_command = may_end = true;
    }
    return may_end;
  }

 private:
  // Skips spaces and tabs; false at the end of the text.
  bool skip_blanks() {
    while (at_ < text_.size() && (text_[at_] == ' ' || text_[at_] == '\t')) ++at_;
    return at_ < text_.size();
  }

  bool next_is(std::size_t ahead, char c) const {
    return at_ + ahead < text_.size() && text_[at_ + ahead] == c;
  }

  // `<`, `<&`, `<>`, `>`, `>>`, `>&`, `>|`, `&>`, `&>>`, then the word it needs. An fd number
  // before it was read as a word of its own, which parses the same. `<<` (here-documents, which
  // read the lines after, and here-strings) is refused.
  bool redirection() {
    const char c = text_[at_];
    ++at_;
    if (c == '&') {
      ++at_;  // the `>`
      if (next_is(0, '>')) ++at_;
    } else if (c == '<') {
      if (next_is(0, '<')) return false;
      if (next_is(0, '&') || next_is(0, '>')) ++at_;
    } else if (next_is(0, '>') || next_is(0, '&') || next_is(0, '|')) {
      ++at_;
    }
    if (!skip_blanks()) return false;
    const std::size_t target = at_;
    if (!word(/*reserved_counts=*/false)) return false;
    // Digits right before `<` or `>` are that redirection's descriptor, not this one's word:
    // `>2>&1` is `>` with nothing after it.
    const bool digits = std::ranges::all_of(text_.substr(target, at_ - target),
                                            [](char d) { return d >= '0' && d <= '9'; });
    return !(digits && (next_is(0, '<') || next_is(0, '>')));
  }

  // One word at at_, up to a blank or an operator character.
  bool word(bool reserved_counts) {
    const std::size_t start = at_;
    bool unquoted = true;
    while (at_ < text_.size()) {
      const char c = text_[at_];
      if (c == ' ' || c == '\t' || c == ';' || c == '&' || c == '|' || c == '<' || c == '>') {
        break;
      }
      if (c == '\'') {
        unquoted = false;
        if (!single_quoted()) return false;
      } else if (c == '"') {
        unquoted = false;
        if (!double_quoted()) return false;
      } else if (c == '$') {
        unquoted = false;
        if (!parameter()) return false;
      } else if (c == '[' && unquoted && at_ > start &&
                 std::ranges::all_of(text_.substr(start, at_ - start), is_name_char) &&
                 is_name_start(text_[start])) {
        // `name[` where an assignment may stand (`a[1]=x`): bash reads on to the matching `]`,
        // across blanks and lines (`a[ b` takes the rest of the input).
        return false;
      } else if (is_plain_char(c)) {
        ++at_;
      } else {
        return false;
      }
    }
    if (at_ == start) return false;
    // A word of plain characters may be a reserved word; a quote or `$` in it makes it none.
    return !(reserved_counts && unquoted && is_reserved_word(text_.substr(start, at_ - start)));
  }

  bool single_quoted() {
    for (++at_; at_ < text_.size(); ++at_) {
      const auto c = static_cast<unsigned char>(text_[at_]);
      if (c == '\'') {
        ++at_;
        return true;
      }
      if ((c < 0x20 && c != '\t') || c == 0x7f) return false;  // newline, NUL, controls
    }
    return false;
  }

  bool double_quoted() {
    for (++at_; at_ < text_.size();) {
      const auto c = static_cast<unsigned char>(text_[at_]);
      if (c == '"') {
        ++at_;
        return true;
      }
      if (c == '$') {
        if (!parameter()) return false;
        continue;
      }
      // A backslash escapes, a backquote substitutes, `!` may expand history (`set -H`).
      if (c == '\\' || c == '`' || c == '!' || (c < 0x20 && c != '\t') || c == 0x7f) return false;
      ++at_;
    }
    return false;
  }

  // `$NAME`, `${NAME}`, or a special parameter: `$?`, `$#`, `$@`, `$*`, `$$`, `$-`,
  // `$0`..`$9`.
  bool parameter() {
    ++at_;
    if (at_ == text_.size()) return false;
    const char c = text_[at_];
    if (is_name_start(c)) {
      while (at_ < text_.size() && is_name_char(text_[at_])) ++at_;
      return true;
    }
    if (c == '{') {
      ++at_;
      if (at_ == text_.size() || !is_name_start(text_[at_])) return false;
      while (at_ < text_.size() && is_name_char(text_[at_])) ++at_;
      if (at_ == text_.size() || text_[at_] != '}') return false;
      ++at_;
      return true;
    }
    if ((c >= '0' && c <= '9') || std::string_view("?#@*$-").find(c) != std::string_view::npos) {
      ++at_;
      return true;
    }
    return false;
  }

  std::string_view text_;
  std::size_t at_ = 0;
};

}  // namespace

bool is_plain_command(std::string_view command) {
  return recogniser(command).accepts();
}

}  // namespace tether::protocol
