#include "cli/script_reader.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

extern char** environ;

namespace tether::cli {

namespace {

std::string_view trimmed(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(" \t\r") - first + 1);
}

bool ends_with_continuation(std::string_view line) {
  std::size_t backslashes = 0;
  while (backslashes < line.size() && line[line.size() - 1 - backslashes] == '\\') ++backslashes;
  return backslashes % 2 == 1;
}

// Which characters of a line are shell code: not inside quotes, not escaped, not in an
// arithmetic expansion `$((...))` (where `<<` is a shift), not in a comment. A line-local
// reading: a quote left open by an earlier line is not seen.
std::vector<bool> code_positions(std::string_view line) {
  std::vector<bool> code(line.size(), false);
  char quote = 0;      // ' or " while inside one
  int arithmetic = 0;  // open parentheses of $(( ... ))
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quote == '\'') {
      if (c == '\'') quote = 0;
      continue;
    }
    if (c == '\\') {
      ++i;  // the next character is escaped (inside double quotes too)
      continue;
    }
    if (quote == '"') {
      if (c == '"') quote = 0;
      continue;
    }
    if (arithmetic > 0) {
      if (c == '(') ++arithmetic;
      if (c == ')') --arithmetic;
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
      continue;
    }
    if (line.substr(i).starts_with("$((")) {
      arithmetic = 2;
      i += 2;
      continue;
    }
    if (c == '#' && (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t')) break;  // a comment
    code[i] = true;
  }
  return code;
}

// The here-document delimiters a line opens (`<<EOF`, `<<-'EOF'`, `<< "EOF"`), in order, with
// whether leading tabs are stripped. A rough reading; a delimiter it misses only means the
// shell's own parse decides.
std::vector<std::pair<std::string, bool>> heredocs_opened(std::string_view line) {
  std::vector<std::pair<std::string, bool>> found;
  const auto code = code_positions(line);
  std::size_t at = 0;
  while ((at = line.find("<<", at)) != std::string_view::npos) {
    if (!code[at] || !code[at + 1]) {  // in a quote, an arithmetic expansion or a comment
      at += 2;
      continue;
    }
    at += 2;
    if (at < line.size() && line[at] == '<') {  // <<< is a here-string
      ++at;
      continue;
    }
    bool strip_tabs = false;
    if (at < line.size() && line[at] == '-') {
      strip_tabs = true;
      ++at;
    }
    while (at < line.size() && (line[at] == ' ' || line[at] == '\t')) ++at;
    std::string word;
    while (at < line.size() && line.find_first_of(" \t;&|<>()", at) != at) {
      if (line[at] != '\'' && line[at] != '"' && line[at] != '\\') word += line[at];
      ++at;
    }
    if (!word.empty()) found.emplace_back(word, strip_tabs);
  }
  return found;
}

bool has_delimiter_line(std::string_view rest, std::string_view delimiter, bool strip_tabs) {
  while (!rest.empty()) {
    const auto end = rest.find('\n');
    std::string_view line = rest.substr(0, end);
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (strip_tabs) line.remove_prefix(std::min(line.find_first_not_of('\t'), line.size()));
    if (line == delimiter) return true;
  }
  return false;
}

}  // namespace

std::vector<std::string> split_script(std::string_view script, const completeness_check& complete) {
  std::vector<std::string> commands;
  std::string pending;
  std::vector<std::pair<std::string, bool>> open_heredocs;
  while (!script.empty()) {
    const auto end = script.find('\n');
    std::string_view line = script.substr(0, end);
    // A file written on Windows ends its lines with CR LF: the CR is no part of the command.
    if (line.ends_with('\r')) line.remove_suffix(1);
    script.remove_prefix(end == std::string_view::npos ? script.size() : end + 1);

    if (!open_heredocs.empty()) {
      pending.append(line).append("\n");
      std::string_view body = line;
      if (open_heredocs.front().second)
        body.remove_prefix(std::min(body.find_first_not_of('\t'), body.size()));
      if (body == open_heredocs.front().first) open_heredocs.erase(open_heredocs.begin());
      if (!open_heredocs.empty()) continue;
    } else {
      const auto content = trimmed(line);
      if (pending.empty() && (content.empty() || content.front() == '#')) continue;
      pending.append(line).append("\n");
      open_heredocs = heredocs_opened(line);
      // `<<` in a quote, a comment or $((1<<2)) is no here-document: one only counts if its
      // delimiter line does come.
      std::erase_if(open_heredocs, [script](const auto& heredoc) {
        return !has_delimiter_line(script, heredoc.first, heredoc.second);
      });
      if (!open_heredocs.empty() || ends_with_continuation(line)) continue;
    }
    if (complete(pending)) {
      pending.pop_back();  // the command without its last newline, as typed
      commands.push_back(std::move(pending));
      pending.clear();
    }
  }
  if (!trimmed(pending).empty()) {
    if (pending.back() == '\n') pending.pop_back();
    commands.push_back(std::move(pending));
  }
  return commands;
}

bool shell_says_complete(const std::string& text) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return true;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 2);
  // bash's grammar is POSIX's and more (`function f {`, `for ((...))`, arrays), so it judges
  // scripts for any shell best; /bin/sh where there is no bash.
  const char* shell = ::access("/bin/bash", X_OK) == 0 ? "/bin/bash" : "/bin/sh";
  const char* argv[] = {shell, "-n", "-c", text.c_str(), nullptr};
  // Its messages are read below: in English, whatever the user's locale.
  std::vector<std::string> environment;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    if (std::string_view(*entry).starts_with("LC_ALL=")) continue;
    environment.emplace_back(*entry);
  }
  environment.emplace_back("LC_ALL=C");
  std::vector<char*> envp;
  for (auto& entry : environment) envp.push_back(entry.data());
  envp.push_back(nullptr);
  pid_t child = -1;
  const int failed =
      ::posix_spawn(&child, shell, &actions, nullptr, const_cast<char* const*>(argv), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  std::string said;
  char buffer[4096];
  for (;;) {
    const ssize_t got = ::read(pipe_fds[0], buffer, sizeof buffer);
    if (got > 0) {
      said.append(buffer, static_cast<std::size_t>(got));
    } else if (got < 0 && errno == EINTR) {
      continue;
    } else {
      break;
    }
  }
  ::close(pipe_fds[0]);
  if (failed != 0) return true;
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return true;
  return said.find("end of file") == std::string::npos &&
         said.find("Unterminated") == std::string::npos &&
         said.find("unexpected EOF") == std::string::npos;
}

}  // namespace tether::cli
