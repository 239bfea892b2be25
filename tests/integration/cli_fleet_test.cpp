// `tether run -H`, `tether script` and `tether repl`, run as a user would.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "helpers/hygiene_fixture.hpp"
#include "helpers/json_lines.hpp"
#include "tether/tether.hpp"

namespace tether::test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class cli_fleet : public hygiene_fixture {
 protected:
  result tether_cli(std::vector<std::string> args, std::optional<std::string> input = {}) {
    args.insert(args.begin(), TETHER_CLI_PATH);
    run_options options;
    options.stdin_data = std::move(input);
    return runner_->run_argv(args, options);
  }
  std::string write_file(const std::string& name, const std::string& content) {
    if (dir_.empty()) {
      char pattern[] = "/tmp/tether-cli-XXXXXX";
      dir_ = ::mkdtemp(pattern);
    }
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << content;
    return path;
  }
  void SetUp() override {
    hygiene_fixture::SetUp();
    runner_.emplace(session_options{.shell_argv = {"/bin/sh"}});
  }
  void TearDown() override {
    runner_.reset();
    if (!dir_.empty()) std::system(("rm -rf " + dir_).c_str());
    hygiene_fixture::TearDown();
  }

 private:
  std::optional<session> runner_;
  std::string dir_;
};

TEST_F(cli_fleet, prefixes_each_line_with_its_target_and_summarises) {
  const auto done = tether_cli({"run", "-H", "local:dash,local:bash", "-H", "local:mksh", "--",
                                "echo $0 | wc -c; echo warn >&2", "[ -z \"$BASH\" ] || exit_3"});
  // Lines of several targets interleave as they come; each is whole and tagged.
  EXPECT_THAT(done.out, HasSubstr("local:dash: 10\n"));
  EXPECT_THAT(done.out, HasSubstr("local:bash: 10\n"));
  EXPECT_THAT(done.out, HasSubstr("local:mksh: 10\n"));
  EXPECT_THAT(done.err, HasSubstr("local:bash: warn\n"));
  EXPECT_THAT(done.err, HasSubstr("tether: local:bash: exit status 127\n"));
  EXPECT_THAT(done.err, HasSubstr("tether: 3 targets: 2 ok, 1 failed\n"));
  EXPECT_THAT(done.err, HasSubstr("  local:bash: exit status 127 ('[ -z \"$BASH\" ] || exit_3')"));
  EXPECT_EQ(done.exit_status, 1) << "a command failed somewhere";
}

TEST_F(cli_fleet, gathered_output_shows_identical_answers_once) {
  const auto done = tether_cli(
      {"run", "-H", "local,local:dash,local:bash", "--gather", "--", "[ -n \"$BASH\" ]; echo $?"});
  EXPECT_EQ(done.out,
            "---------------\nlocal,local:dash (2)\n---------------\n1\n"
            "---------------\nlocal:bash (1)\n---------------\n0\n");
  EXPECT_EQ(done.exit_status, 0);
}

TEST_F(cli_fleet, blocks_show_one_target_at_a_time) {
  const auto done =
      tether_cli({"run", "-H", "local,local:bash", "--output", "blocks", "--", "echo a; printf b"});
  EXPECT_EQ(done.out,
            "---------------\nlocal\n---------------\na\nb\n"
            "---------------\nlocal:bash\n---------------\na\nb\n");
}

TEST_F(cli_fleet, json_carries_timings_and_each_targets_error) {
  const auto done = tether_cli(
      {"run", "-H", "local,ssh+native://127.0.0.1:1", "--json", "--", "echo one", "echo two"});
  const auto lines = json_lines(done.out);
  // The unreachable target is reported once and runs nothing more.
  ASSERT_EQ(lines.size(), 3U) << done.out;
  EXPECT_EQ(lines[0]["target"], "local");
  EXPECT_EQ(lines[0]["stdout"], "one\n");
  EXPECT_TRUE(lines[0]["connect_s"].is_number());
  EXPECT_TRUE(lines[0]["first_byte_s"].is_number());
  EXPECT_TRUE(lines[0]["finished_s"].is_number());
  EXPECT_EQ(lines[1]["target"], "ssh+native://127.0.0.1:1");
  EXPECT_THAT(lines[1]["error"].get<std::string>(), HasSubstr("Connection refused"));
  EXPECT_EQ(lines[2]["stdout"], "two\n");
  EXPECT_FALSE(lines[2].contains("connect_s")) << "the session was open already";
  EXPECT_EQ(done.exit_status, 125) << "a target could not be reached";
}

TEST_F(cli_fleet, a_timeout_and_an_idle_timeout_are_told_apart) {
  const auto idle = tether_cli(
      {"run", "-H", "local:dash,local:sh", "--idle-timeout", "0.5", "--", "echo a; sleep 30"});
  EXPECT_THAT(idle.err,
              HasSubstr("tether: local:dash: printed nothing for 0.5 s (--idle-timeout)\n"));
  EXPECT_EQ(idle.exit_status, 124);
  const auto whole =
      tether_cli({"run", "-H", "local:dash,local:sh", "--timeout", "0.5", "--", "sleep 30"});
  EXPECT_THAT(whole.err, HasSubstr("tether: local:dash: timed out after 0.5 s\n"));
  EXPECT_EQ(whole.exit_status, 124);
}

TEST_F(cli_fleet, hosts_file_lists_targets_with_comments) {
  const auto hosts = write_file("hosts", "# web tier\nlocal   # the first\n\nlocal:bash\n");
  const auto done = tether_cli({"run", "--hosts-file", hosts, "--", "echo x"});
  EXPECT_EQ(done.out.size(), std::string("local: x\nlocal:bash: x\n").size());
  EXPECT_EQ(done.exit_status, 0);
  const auto bad = write_file("bad", "local\nweb1 web2\n");
  const auto refused = tether_cli({"run", "--hosts-file", bad, "--", "true"});
  EXPECT_EQ(refused.exit_status, 2);
  EXPECT_THAT(refused.err, HasSubstr("line 2: one target per line, found 'web1 web2'"));
  const auto malformed = tether_cli({"run", "-H", "ftp://x", "--", "true"});
  EXPECT_EQ(malformed.exit_status, 2);
  EXPECT_THAT(malformed.err, HasSubstr("bad target 'ftp://x'"));
}

TEST_F(cli_fleet, script_runs_whole_commands_and_stops_a_target_at_its_first_failure) {
  const auto script = write_file("deploy.sh",
                                 "# set up\ncd /tmp\nif [ -d /tmp ]; then\n  echo \"in $(pwd)\"\n"
                                 "fi\ncat <<END\nheredoc $(echo body)\nEND\n"
                                 "[ -z \"$BASH\" ]\necho after\n");
  const auto done = tether_cli({"script", script, "local", "local:bash"});
  EXPECT_THAT(done.out, HasSubstr("local: in /tmp\n"));
  EXPECT_THAT(done.out, HasSubstr("local:bash: heredoc body\n"));
  EXPECT_THAT(done.out, HasSubstr("local: after\n"));
  EXPECT_THAT(done.out, Not(HasSubstr("local:bash: after"))) << "bash stopped at its failure";
  EXPECT_THAT(done.err, HasSubstr("local:bash: exit status 1 ('[ -z \"$BASH\" ]')"));
  EXPECT_EQ(done.exit_status, 1);

  const auto going = tether_cli({"script", "--keep-going", script, "local:bash"});
  EXPECT_EQ(going.out, "in /tmp\nheredoc body\nafter\n");
  EXPECT_EQ(going.exit_status, 1);
}

TEST_F(cli_fleet, repl_reads_lines_and_keeps_state) {
  const auto done = tether_cli({"repl", "local", "local:bash"}, "cd /tmp\n\npwd\n(exit 4)\n");
  EXPECT_THAT(done.out, HasSubstr("local: /tmp\n"));
  EXPECT_THAT(done.out, HasSubstr("local:bash: /tmp\n"));
  EXPECT_THAT(done.err, HasSubstr("tether: local:bash: exit status 4\n"));
  EXPECT_EQ(done.exit_status, 1) << "the documented rule: the worst over the session";
  const auto died = tether_cli({"repl", "local", "local:bash"}, "true\nexit 3\necho gone\n");
  EXPECT_EQ(died.exit_status, 125) << died.err;
  EXPECT_EQ(tether_cli({"repl", "local"}, "true\n").exit_status, 0);
}

// Starts `tether ARGS...` (output to /dev/null) and waits until `marker`, the command it runs,
// is running; then sends `signal_number` and returns how tether ended, and whether the command
// is still running afterwards.
struct signalled_run {
  bool started = false;  // the command was seen running before the signal
  int status = 0;
  bool command_left = true;
};
signalled_run signal_while_running(std::vector<std::string> args, const std::string& marker,
                                   int signal_number) {
  signalled_run outcome;
  const pid_t child = ::fork();
  if (child < 0) return outcome;
  if (child == 0) {
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 1);
    ::dup2(null, 2);
    std::vector<char*> argv{const_cast<char*>("tether")};
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    ::execv(TETHER_CLI_PATH, argv.data());
    ::_exit(127);
  }
  const std::string running = "pgrep -f '^" + marker + "$' >/dev/null";
  for (int i = 0; i < 100 && !outcome.started; ++i) {
    outcome.started = std::system(running.c_str()) == 0;
    if (!outcome.started) ::usleep(50 * 1000);
  }
  ::kill(child, signal_number);
  ::waitpid(child, &outcome.status, 0);
  // The kill of a process group is not instant: give it a moment.
  for (int i = 0; i < 20 && std::system(running.c_str()) == 0; ++i) ::usleep(50 * 1000);
  outcome.command_left = std::system(running.c_str()) == 0;
  return outcome;
}

// SIGTERM (or SIGHUP: the terminal went away) ends tether as it should end, and takes the
// sessions' commands with it instead of leaving them running.
TEST_F(cli_fleet, sigterm_ends_the_fleet_and_its_commands) {
  for (const int signal_number : {SIGTERM, SIGHUP}) {
    const std::string marker = "sleep 97." + std::to_string(signal_number);
    const auto ended = signal_while_running({"run", "-H", "local,local:bash", "--", marker}, marker,
                                            signal_number);
    ASSERT_TRUE(ended.started) << "the commands never started";
    // It ends by the signal, as a program that catches one should, but only after interrupting
    // the commands and closing the sessions: without that their shells would live on.
    EXPECT_TRUE(WIFSIGNALED(ended.status) && WTERMSIG(ended.status) == signal_number);
    EXPECT_FALSE(ended.command_left) << marker << " outlived tether";
  }
}

// A single session (no targets) is a blocking tether::session: a signal ends tether at once,
// but the shell's process group goes first.
TEST_F(cli_fleet, a_signal_to_a_single_session_run_takes_its_command_along) {
  for (const int signal_number : {SIGINT, SIGTERM, SIGHUP}) {
    const std::string marker = "sleep 98." + std::to_string(signal_number);
    const auto ended =
        signal_while_running({"run", "--", marker, "echo never"}, marker, signal_number);
    ASSERT_TRUE(ended.started) << "the command never started";
    EXPECT_TRUE(WIFSIGNALED(ended.status) && WTERMSIG(ended.status) == signal_number);
    EXPECT_FALSE(ended.command_left) << marker << " outlived tether";
  }
}

std::size_t count_of(const std::string& text, const std::string& part) {
  std::size_t count = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++count;
  return count;
}

// Reads what the terminal shows until `expected` has appeared `times` times (or 20 s pass).
void read_until(int terminal, const std::string& expected, std::string& seen,
                std::size_t times = 1) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (count_of(seen, expected) < times && std::chrono::steady_clock::now() < give_up) {
    pollfd ready{.fd = terminal, .events = POLLIN, .revents = 0};
    if (::poll(&ready, 1, 100) <= 0) continue;
    char buffer[4096];
    const ssize_t got = ::read(terminal, buffer, sizeof buffer);
    if (got <= 0) break;
    seen.append(buffer, static_cast<std::size_t>(got));
  }
}

// How a line's target is shown on a terminal: its name in its own colour (local: cyan, the
// first; local:bash: green, the second).
std::string shown(std::string_view colour, std::string_view name) {
  return std::string(colour) + std::string(name) + ":\033[0m ";
}
const std::string local_prefix = shown("\033[36m", "local");
const std::string bash_prefix = shown("\033[32m", "local:bash");

// Everything `tether run ARGS...` shows on a terminal of its own, with NO_COLOR set or not.
std::string run_on_a_terminal(const std::vector<std::string>& args, bool no_color) {
  int terminal = -1;
  const pid_t child = ::forkpty(&terminal, nullptr, nullptr, nullptr);
  if (child < 0) return "forkpty failed";
  if (child == 0) {
    if (no_color) {
      ::setenv("NO_COLOR", "1", 1);
    } else {
      ::unsetenv("NO_COLOR");
    }
    std::vector<char*> argv{const_cast<char*>("tether"), const_cast<char*>("run")};
    for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    ::execv(TETHER_CLI_PATH, argv.data());
    ::_exit(127);
  }
  std::string seen;
  for (;;) {
    char buffer[4096];
    const ssize_t got = ::read(terminal, buffer, sizeof buffer);  // EIO once the child is gone
    if (got <= 0) break;
    seen.append(buffer, static_cast<std::size_t>(got));
  }
  ::close(terminal);
  int status = 0;
  ::waitpid(child, &status, 0);
  return seen;
}

TEST_F(cli_fleet, target_names_in_colour_on_a_terminal_unless_no_color) {
  const std::vector<std::string> args{"-H", "local,local:bash", "--", "echo hi; echo oops >&2"};
  const std::string coloured = run_on_a_terminal(args, false);
  EXPECT_THAT(coloured, HasSubstr(local_prefix + "hi\r\n"));
  EXPECT_THAT(coloured, HasSubstr(bash_prefix + "hi\r\n"));
  EXPECT_THAT(coloured, HasSubstr(bash_prefix + "\033[31moops\033[0m\r\n"));
  const std::string plain = run_on_a_terminal(args, true);
  EXPECT_THAT(plain, HasSubstr("local: hi\r\n"));
  EXPECT_THAT(plain, HasSubstr("local:bash: oops\r\n"));
  EXPECT_EQ(plain.find('\033'), std::string::npos) << plain;
}

// SIGTERM (or SIGHUP, the terminal closing) ends the repl by the signal; the lines typed so
// far are in the history all the same.
TEST_F(cli_fleet, repl_ended_by_a_signal_keeps_its_history) {
  const std::string home =
      write_file("history-anchor", "").substr(0, write_file("x", "").rfind('/'));
  int terminal = -1;
  const pid_t child = ::forkpty(&terminal, nullptr, nullptr, nullptr);
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::setenv("HOME", home.c_str(), 1);
    ::execl(TETHER_CLI_PATH, "tether", "repl", "local", nullptr);
    ::_exit(127);
  }
  std::string seen;
  read_until(terminal, "tether> ", seen);
  const std::string command = "sleep 95.7\r";
  ASSERT_EQ(::write(terminal, command.data(), command.size()),
            static_cast<ssize_t>(command.size()));
  bool started = false;
  for (int i = 0; i < 200 && !started; ++i) {
    started = std::system("pgrep -f '^sleep 95.7$' >/dev/null") == 0;
    if (!started) ::usleep(50 * 1000);
  }
  ASSERT_TRUE(started) << seen;
  ::kill(child, SIGTERM);
  int status = 0;
  // The terminal is read meanwhile, so that tether never blocks writing to it.
  while (::waitpid(child, &status, WNOHANG) == 0) {
    pollfd ready{.fd = terminal, .events = POLLIN, .revents = 0};
    char buffer[4096];
    if (::poll(&ready, 1, 50) > 0 && ::read(terminal, buffer, sizeof buffer) <= 0) ::usleep(10000);
  }
  ::close(terminal);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM) << status;
  std::ifstream saved(home + "/.tether_history");
  const std::string history((std::istreambuf_iterator<char>(saved)),
                            std::istreambuf_iterator<char>());
  EXPECT_THAT(history, HasSubstr("95.7")) << "(libedit writes the space as \\040)";
}

TEST_F(cli_fleet, repl_on_a_terminal_ctrl_c_interrupts_the_command_not_the_repl) {
  const std::string home =
      write_file("history-anchor", "").substr(0, write_file("x", "").rfind('/'));
  int terminal = -1;
  const pid_t child = ::forkpty(&terminal, nullptr, nullptr, nullptr);
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::setenv("HOME", home.c_str(), 1);  // a history file of its own
    ::unsetenv("NO_COLOR");             // the colours are checked
    ::execl(TETHER_CLI_PATH, "tether", "repl", "local", "local:bash", nullptr);
    ::_exit(127);
  }
  std::string seen;
  read_until(terminal, "tether[2]> ", seen);
  const std::string command = "X=kept; echo started; sleep 60\r";
  ASSERT_EQ(::write(terminal, command.data(), command.size()),
            static_cast<ssize_t>(command.size()));
  read_until(terminal, bash_prefix + "started", seen);
  read_until(terminal, local_prefix + "started", seen);
  // A command that takes over a second gets a progress line on the terminal.
  read_until(terminal, "[tether] 0 done, 0 failed, 2 running", seen);
  EXPECT_THAT(seen, HasSubstr("[tether] 0 done, 0 failed, 2 running"));
  ASSERT_EQ(::write(terminal, "\x03", 1), 1);
  read_until(terminal, "local:bash: exit status 130", seen);
  EXPECT_THAT(seen, HasSubstr("tether: local: exit status 130"));
  // Typed before the prompt, a line could be lost to line editing: wait for it.
  read_until(terminal, "tether[2]> ", seen, 2);
  const std::string next = "echo $X; echo oops >&2\r";
  ASSERT_EQ(::write(terminal, next.data(), next.size()), static_cast<ssize_t>(next.size()));
  read_until(terminal, bash_prefix + "kept", seen);
  read_until(terminal, local_prefix + "kept", seen);
  EXPECT_THAT(seen, HasSubstr(local_prefix + "kept")) << "the sessions and their state survived";
  read_until(terminal, bash_prefix + "\033[31moops", seen);
  EXPECT_THAT(seen, HasSubstr(bash_prefix + "\033[31moops\033[0m\r\n")) << "stderr in red";
  read_until(terminal, "tether[2]> ", seen, 3);  // Ctrl-D at the prompt ends it
  // Ctrl-D on an empty line ends it. A key typed in the moment between the prompt showing and
  // line editing taking the terminal reaches it as a NUL in the line (the terminal's cooked
  // mode turned the Ctrl-D into one), so, as a user would, clear the line (Ctrl-U) and retry.
  int status = 0;
  pid_t ended = 0;
  for (int i = 0; i < 200 && ended == 0; ++i) {
    if (i % 10 == 0) {
      ASSERT_EQ(::write(terminal, "\x15\x04", 2), 2);
    }
    ::usleep(100 * 1000);
    ended = ::waitpid(child, &status, WNOHANG);
  }
  if (ended == 0) {
    ::kill(child, SIGKILL);
    ::waitpid(child, &status, 0);
    ADD_FAILURE() << "Ctrl-D did not end the repl: " << seen;
  }
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << seen;
  if (terminal >= 0) ::close(terminal);
}

}  // namespace
}  // namespace tether::test
