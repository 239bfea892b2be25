#include "session/shell_launch.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "tether/error.hpp"
#include "transport/ssh_target.hpp"

namespace tether::session_detail {

namespace {

// The ssh arguments every ssh session gets from ssh_options.
transport::ssh_command base_ssh_command(const ssh_options& settings) {
  transport::ssh_command command;
  command.program = settings.program;
  command.remote_shell = settings.remote_shell;
  command.connect_timeout_s =
      std::max(1, static_cast<int>(std::ceil(settings.connect_timeout.count())));
  if (!settings.config_file.empty())
    command.options.insert(command.options.end(), {"-F", settings.config_file});
  if (!settings.identity_file.empty())
    command.options.insert(command.options.end(), {"-i", settings.identity_file});
  for (const auto& option : settings.options)
    command.options.insert(command.options.end(), {"-o", option});
  return command;
}

}  // namespace

std::optional<clock::duration> to_limit(seconds value) {
  if (!(value.count() > 0)) return std::nullopt;  // also catches NaN
  // A year is "forever" for a command, and keeps the arithmetic far from overflow.
  constexpr double year = 365.0 * 24 * 3600;
  if (!std::isfinite(value.count()) || value.count() > year) return std::nullopt;
  return std::chrono::duration_cast<clock::duration>(value);
}

// ksh93 reports a command killed by signal N as 256 + N; every other shell says 128 + N.
int normalise_status(int status) {
  return status > 256 ? status - 128 : status;
}

// `exec` makes the shell itself the process we watch and signal, not a wrapper around it.
// `exec VAR=x cmd` is not valid shell, so leading assignments go through env(1).
std::vector<std::string> argv_for_command_line(const std::string& line) {
  std::size_t name_end = 0;
  while (name_end < line.size() &&
         (std::isalnum(static_cast<unsigned char>(line[name_end])) != 0 || line[name_end] == '_')) {
    ++name_end;
  }
  const bool starts_with_assignment = name_end > 0 && name_end < line.size() &&
                                      line[name_end] == '=' &&
                                      std::isdigit(static_cast<unsigned char>(line[0])) == 0;
  return {"/bin/sh", "-c", (starts_with_assignment ? "exec env " : "exec ") + line};
}

transport::ssh_command ssh_command_for_target(const std::string& text,
                                              const ssh_options& settings) {
  std::string why;
  const auto parsed = transport::parse_ssh_target(text, why);
  if (!parsed) throw error(errc::invalid_argument, "bad target '" + text + "': " + why);
  auto command = base_ssh_command(settings);
  if (!parsed->user.empty()) command.options.insert(command.options.end(), {"-l", parsed->user});
  if (parsed->port)
    command.options.insert(command.options.end(), {"-p", std::to_string(*parsed->port)});
  // "--" ends ssh's options: the host can never be read as one.
  command.destination = {"--", parsed->host};
  return command;
}

// A command line made of plain words (no quoting, expansion or operators), split on blanks;
// nullopt for anything a shell would read differently.
std::optional<std::vector<std::string>> plain_words(const std::string& line) {
  if (line.find_first_of("'\"\\$`;&|<>(){}*?~\n") != std::string::npos) return std::nullopt;
  std::vector<std::string> words;
  std::size_t at = 0;
  while (at < line.size()) {
    const auto start = line.find_first_not_of(" \t", at);
    if (start == std::string::npos) break;
    const auto end = line.find_first_of(" \t", start);
    words.push_back(line.substr(start, end == std::string::npos ? std::string::npos : end - start));
    at = end == std::string::npos ? line.size() : end;
  }
  return words;
}

// "ssh [args] host" as plain words, IPC::Session's form, without the "ssh"; nullopt otherwise.
std::optional<std::vector<std::string>> ssh_words(const std::string& line) {
  auto words = plain_words(line);
  if (!words || words->size() < 2 || words->front() != "ssh") return std::nullopt;
  words->erase(words->begin());
  return words;
}

transport::ssh_command ssh_command_for_words(std::vector<std::string> words,
                                             const ssh_options& settings) {
  auto command = base_ssh_command(settings);
  command.destination = std::move(words);
  return command;
}

// A POSIX shell run directly, which writes into our pipes itself: its two streams reach us in
// order (protocol::markers::stdout_only). Anything else may be a relay (ssh, docker exec,
// kubectl exec) that reorders them, and gets both markers.
bool is_known_local_shell(const std::vector<std::string>& argv) {
  if (argv.empty()) return false;
  const std::string& program = argv[0];
  const std::string name =
      program.substr(program.rfind('/') == std::string::npos ? 0 : program.rfind('/') + 1);
  if (name == "busybox") return argv.size() > 1 && (argv[1] == "sh" || argv[1] == "ash");
  static constexpr std::string_view shells[] = {"sh",   "dash", "bash", "zsh",  "ksh", "ksh93",
                                                "mksh", "lksh", "ash",  "yash", "posh"};
  return std::find(std::begin(shells), std::end(shells), name) != std::end(shells);
}

// Whether `argv /dev/fd/3` makes this known shell read its commands from that file: only
// option words that neither take the commands elsewhere (-c, -s) nor make it interactive (-i).
bool reads_a_script_argument(const std::vector<std::string>& argv) {
  const std::size_t first = argv.size() > 1 && argv[0].ends_with("busybox") ? 2 : 1;
  for (std::size_t i = first; i < argv.size(); ++i) {
    const std::string& word = argv[i];
    if (word.starts_with("--")) continue;  // --norc, --noprofile, --posix
    if ((word[0] != '-' && word[0] != '+') || word.find_first_of("csi", 1) != std::string::npos) {
      return false;
    }
  }
  return true;
}

std::string describe_command(std::string_view command) {
  constexpr std::size_t shown = 60;
  std::string text(command.substr(0, shown));
  if (command.size() > shown) text += "...";
  return "'" + text + "'";
}

}  // namespace tether::session_detail
