// The session's behaviour, checked on every shell we support: dash, bash, zsh, busybox sh,
// mksh and ksh93. Every test ends with the hygiene checks (no leaked descriptor or child).
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>
#include <string>

#include "helpers/hygiene_fixture.hpp"
#include "helpers/test_sshd.hpp"
#include "integration/shells.hpp"
#include "tether/tether.hpp"

namespace tether::test {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

class session_test : public hygiene_fixture_with_param<shell_case> {
 protected:
  session open(session_options options = {}) {
    if (GetParam().native) {
      const auto& server = shared_sshd();
      options.target = "ssh+native://" + GetParam().ssh_alias;
      options.native.config_file = server.ssh_config();
      options.native.known_hosts_file = server.known_hosts();
      options.native.identity_files = {server.user_key()};
      options.native.use_agent = false;
    } else if (GetParam().over_ssh()) {
      options.target = "ssh://" + GetParam().ssh_alias;
      options.ssh.config_file = shared_sshd().ssh_config();
    } else {
      options.shell_argv = GetParam().argv;
    }
    if (!GetParam().remote_shell.empty()) options.ssh.remote_shell = GetParam().remote_shell;
    return session(std::move(options));
  }

  // bash (bash lines) runs each command at the top level; the other shells in a function.
  static bool runs_commands_at_the_top_level() {
    return GetParam().name == "bash" || GetParam().remote_shell == "bash";
  }

  // A fresh scratch directory per test, removed afterwards.
  std::string scratch() {
    if (scratch_.empty()) {
      char pattern[] = "/tmp/tether-test-XXXXXX";
      scratch_ = ::mkdtemp(pattern);
      ::chmod(scratch_.c_str(), 01777);  // the SSH test account writes here too
    }
    return scratch_;
  }

  void TearDown() override {
    if (!scratch_.empty()) std::filesystem::remove_all(scratch_);
    hygiene_fixture_with_param::TearDown();
  }

 private:
  std::string scratch_;
};

TEST_P(session_test, stdout_stderr_and_status_are_separate) {
  auto shell = open();
  const auto done = shell.run("echo out; echo err >&2; (exit 7)");
  EXPECT_EQ(done.out, "out\n");
  EXPECT_EQ(done.err, "err\n");
  EXPECT_EQ(done.exit_status, 7);
  EXPECT_FALSE(done.timed_out);
  EXPECT_FALSE(done.restarted);
  EXPECT_GT(done.duration.count(), 0);
}

TEST_P(session_test, output_without_trailing_newline_is_exact) {
  auto shell = open();
  EXPECT_EQ(shell.run("printf abc").out, "abc");
  EXPECT_EQ(shell.run("printf 'two\\n\\n'").out, "two\n\n");
  EXPECT_EQ(shell.run("true").out, "");
}

TEST_P(session_test, nul_bytes_are_kept) {
  auto shell = open();
  const auto done = shell.run("printf 'a\\000b\\000'; printf '\\000x' >&2");
  EXPECT_EQ(done.out, std::string("a\0b\0", 4));
  EXPECT_EQ(done.err, std::string("\0x", 2));
}

TEST_P(session_test, invalid_utf8_is_kept) {
  auto shell = open();
  EXPECT_EQ(shell.run("printf '\\377\\376\\303'").out, "\xff\xfe\xc3");
}

TEST_P(session_test, output_that_looks_like_markers_is_just_output) {
  auto shell = open();
  // The protocol's own words, marker-shaped lines, and the prelude itself as output.
  const std::string tricky = "__tether x y\n0123456789abcdef:0\n:0\n__tether_end a b 0\n";
  const auto done = shell.run("printf '%s' '" + tricky + "'; printf '%s' '" + tricky + "' >&2");
  EXPECT_EQ(done.out, tricky);
  EXPECT_EQ(done.err, tricky);
  EXPECT_EQ(done.exit_status, 0);
  EXPECT_EQ(shell.run("echo next").out, "next\n");
}

TEST_P(session_test, command_reading_stdin_gets_eof_and_next_command_works) {
  auto shell = open();
  const auto read = shell.run("cat; read line; echo \"status $? [$line]\"");
  EXPECT_EQ(read.out, "status 1 []\n");
  // After `later`'s `&` a reserved word counts as one: a syntax error, not the session's end.
  const auto& broken = shell.run("later fi");
  EXPECT_TRUE(broken.error.empty()) << broken.error;
  EXPECT_NE(broken.exit_status, 0);
  EXPECT_EQ(shell.run("echo still here").out, "still here\n");
}

TEST_P(session_test, commands_inherit_only_stdin_stdout_and_stderr) {
  // The command stream (on stdin or on a descriptor of the shell's own) never reaches a
  // command: a command sees /dev/null as stdin and no other descriptor of ours. (The pause
  // lets the child exec first: until then a forked bash still holds its script descriptor,
  // which is close-on-exec. /bin/sleep, because ksh93's own sleep is a built-in: its child
  // would be a forked ksh93 that never execs.)
  auto shell = open();
  const auto& done = shell.run(
      "/bin/sleep 5 & child=$!; sleep 0.3; ls /proc/$child/fd | tr '\\n' ' '; readlink "
      "/proc/$child/fd/0; "
      "kill $child");
  EXPECT_EQ(done.out, "0 1 2 /dev/null\n");
}

TEST_P(session_test, stdin_data_reaches_the_command_exactly) {
  auto shell = open();
  const char raw[] = "line 1\n100% \\n 'q' \"d\" \0 \xff end";
  const std::string data(raw, sizeof raw - 1);
  run_options options;
  options.stdin_data = data;
  EXPECT_EQ(shell.run("cat", options).out, data);
  options.stdin_data = "a\nb\n";
  EXPECT_EQ(shell.run("wc -l", options).out.find('2') != std::string::npos, true);
  EXPECT_EQ(shell.run("cat").out, "");  // the next command's stdin is /dev/null again
}

TEST_P(session_test, stdin_data_command_keeps_state) {
  auto shell = open();
  run_options options;
  options.stdin_data = "value\n";
  shell.run("read got; cd /usr", options);
  EXPECT_EQ(shell.run("echo $got; pwd").out, "value\n/usr\n");
}

TEST_P(session_test, quotes_backslashes_newlines_heredocs_and_substitutions) {
  auto shell = open();
  EXPECT_EQ(shell.run("echo 'single' \"double\" back\\\\slash 'it'\\''s'").out,
            "single double back\\slash it's\n");
  EXPECT_EQ(shell.run("echo one\necho two").out, "one\ntwo\n");
  EXPECT_EQ(shell.run("cat <<'EOF'\n$not expanded 'x'\nEOF").out, "$not expanded 'x'\n");
  EXPECT_EQ(shell.run("x=$(echo inner); echo \"[$x] [`echo back`]\"").out, "[inner] [back]\n");
  EXPECT_EQ(shell.run("printf '%s\\n' \"a  b\"").out, "a  b\n");
}

TEST_P(session_test, one_megabyte_command) {
  auto shell = open();
  const std::string big(1024 * 1024, 'x');
  const auto done = shell.run("big='" + big + "'; echo ${#big}");
  EXPECT_EQ(done.out, "1048576\n");
}

TEST_P(session_test, stderr_only_output) {
  auto shell = open();
  const auto done = shell.run("echo only-err >&2");
  EXPECT_EQ(done.out, "");
  EXPECT_EQ(done.err, "only-err\n");
}

TEST_P(session_test, state_persists_between_commands) {
  auto shell = open();
  shell.run("cd /usr");
  shell.run("plain=1");
  shell.run("export exported=2");
  shell.run("greet() { echo \"hi $1\"; }");
  shell.run("umask 027");
  EXPECT_EQ(shell.run("pwd").out, "/usr\n");
  EXPECT_EQ(shell.run("echo $plain").out, "1\n");
  EXPECT_EQ(shell.run("sh -c 'echo $exported'").out, "2\n");
  EXPECT_EQ(shell.run("greet you").out, "hi you\n");
  EXPECT_EQ(shell.run("umask").out.find("27") != std::string::npos, true);
}

TEST_P(session_test, syntax_error_is_the_commands_failure_not_the_sessions) {
  // dash and busybox sh would exit on a syntax error inside a plain eval.
  auto shell = open();
  shell.run("cd /usr");
  const auto broken = shell.run("echo \"unterminated");
  EXPECT_NE(broken.exit_status, 0);
  EXPECT_FALSE(broken.err.empty());
  EXPECT_NE(shell.run("done").exit_status, 0);
  // Words only, which bash takes without eval unless they would open a compound command or a
  // function definition (a syntax error there would end bash). (zsh runs `while` alone as a
  // loop without end, and takes `function` alone for a listing.)
  std::vector<std::string> openers = {"if", "for", "case", "fi"};
  if (runs_commands_at_the_top_level()) {
    openers.insert(openers.end(), {"while", "until", "function", "select", "done"});
    // `time` alone is bash's own (it times nothing); it must reach bash as a reserved word.
    const auto& timed = shell.run("time");
    EXPECT_TRUE(timed.error.empty()) << timed.error;
    EXPECT_EQ(timed.exit_status, 0);
    EXPECT_NE(timed.err.find("real"), std::string::npos) << timed.err;
  }
  for (const auto& opener : openers) {
    const auto& failed = shell.run(opener);
    EXPECT_TRUE(failed.error.empty()) << opener << ": " << failed.error;
    EXPECT_NE(failed.exit_status, 0) << opener;
  }
  EXPECT_EQ(shell.run("pwd").out, "/usr\n");
}

TEST_P(session_test, errors_that_drop_the_rest_of_bash_s_line_end_only_the_command) {
  // bash drops the rest of the line an assignment to a readonly variable, an arithmetic error
  // in an integer variable's assignment or failglob's "no match" happens on, eval or not.
  if (!runs_commands_at_the_top_level()) GTEST_SKIP() << "bash's own errors";
  auto shell = open();
  shell.run("readonly r=1; declare -i n");
  for (const char* command : {"r=2", "n=1/0", "{ n=1/0; }", "shopt -s failglob; echo *.none"}) {
    const auto& failed = shell.run(command);
    EXPECT_TRUE(failed.error.empty()) << command << ": " << failed.error;
    EXPECT_FALSE(failed.timed_out) << command;
    EXPECT_FALSE(failed.restarted) << command;
    EXPECT_EQ(failed.exit_status, 1) << command;
    EXPECT_FALSE(failed.err.empty()) << command;
  }
  EXPECT_EQ(shell.run("shopt -u failglob; echo $r").out, "1\n");  // the same shell
}

TEST_P(session_test, aliases_apply_to_commands_of_plain_words_too) {
  // bash runs such commands without eval; an alias must still expand there, as it does in eval.
  if (!runs_commands_at_the_top_level()) GTEST_SKIP() << "bash only (shopt expand_aliases)";
  auto shell = open();
  shell.run("shopt -s expand_aliases; alias greet='echo hello'");
  EXPECT_EQ(shell.run("greet world").out, "hello world\n");
  EXPECT_EQ(shell.run("greet 'quoted'").out, "hello quoted\n");
  // An alias that ends in `&` or a comment: `;` after either would break the line.
  shell.run("alias later='true &' noted='echo noted # a comment'");
  const auto& later = shell.run("later");
  EXPECT_TRUE(later.error.empty()) << later.error;
  EXPECT_EQ(later.exit_status, 0);
  const auto& noted = shell.run("noted");
  EXPECT_TRUE(noted.error.empty()) << noted.error;
  EXPECT_EQ(noted.out, "noted\n");
  // After `later`'s `&` a reserved word counts as one: a syntax error, not the session's end.
  const auto& broken = shell.run("later fi");
  EXPECT_TRUE(broken.error.empty()) << broken.error;
  EXPECT_NE(broken.exit_status, 0);
  EXPECT_EQ(shell.run("echo still here").out, "still here\n");
}

TEST_P(session_test, return_in_a_command_ends_only_that_command) {
  auto shell = open();
  const auto done = shell.run("echo before; return 7; echo after");
  if (runs_commands_at_the_top_level()) {
    // As in bash itself: `return` outside a function is an error, and the command goes on.
    EXPECT_EQ(done.out, "before\nafter\n");
    EXPECT_THAT(done.err, HasSubstr("return: can only"));
    EXPECT_EQ(done.exit_status, 0);
  } else {
    EXPECT_EQ(done.out, "before\n");
    EXPECT_EQ(done.exit_status, 7);
  }
  EXPECT_EQ(shell.run("echo next").out, "next\n");
}

TEST_P(session_test, commands_have_no_positional_parameters) {
  // So a command cannot print the nonce and forge the end of its own output.
  auto shell = open();
  EXPECT_EQ(shell.run("echo \"[$#] [$1$2$3]\"").out, "[0] []\n");
}

TEST_P(session_test, argv_form_quotes_every_word) {
  auto shell = open();
  const auto done = shell.run_argv({"printf", "%s|", "a b", "it's", "$HOME", "*"});
  EXPECT_EQ(done.out, "a b|it's|$HOME|*|");
}

TEST_P(session_test, last_result_is_readable_from_the_session) {
  auto shell = open();
  shell.run("echo o; echo e >&2; (exit 4)");
  EXPECT_EQ(shell.last().out, "o\n");
  EXPECT_EQ(shell.last().err, "e\n");
  EXPECT_EQ(shell.last().exit_status, 4);
}

TEST_P(session_test, output_cap_is_reported) {
  auto shell = open();
  run_options options;
  options.output_cap = 10;
  const auto done = shell.run("head -c 100000 /dev/zero | tr '\\0' a; echo short >&2", options);
  EXPECT_EQ(done.out, std::string(10, 'a'));
  EXPECT_TRUE(done.out_truncated);
  EXPECT_EQ(done.err, "short\n");
  EXPECT_FALSE(done.err_truncated);
  EXPECT_EQ(done.exit_status, 0);
}

TEST_P(session_test, streaming_callback_receives_output_in_order) {
  auto shell = open();
  std::string out;
  std::string err;
  run_options options;
  options.on_output = [&](output_stream stream, std::string_view bytes) {
    (stream == output_stream::out ? out : err).append(bytes);
  };
  const auto done = shell.run("for i in 1 2 3; do echo $i; echo e$i >&2; done", options);
  EXPECT_EQ(out, "1\n2\n3\n");
  EXPECT_EQ(err, "e1\ne2\ne3\n");
  EXPECT_EQ(done.out, "");
  EXPECT_EQ(done.exit_status, 0);
}

TEST_P(session_test, a_timeout_ends_a_loop_of_builtins_and_the_rest_of_its_command) {
  // No process dies of the SIGINT here: the shell's trap alone must end the command.
  auto shell = open();
  const auto done = shell.run("i=0; while :; do i=$((i+1)); done; echo after",
                              {.timeout = std::chrono::duration<double>(0.5)});
  EXPECT_TRUE(done.timed_out);
  EXPECT_FALSE(done.restarted);
  EXPECT_EQ(done.exit_status, 130);
  EXPECT_EQ(done.out, "");
  const auto next = shell.run("[ \"$i\" -gt 0 ] && echo counted");
  EXPECT_EQ(next.out, "counted\n");
}

TEST_P(session_test, timeout_interrupts_and_keeps_state) {
  auto shell = open();
  const std::string pid_file = scratch() + "/pid";
  shell.run("X=kept; cd /usr");
  run_options options;
  options.timeout = 1s;  // long enough for the pid file to be written even on a loaded machine
  const auto done = shell.run(
      "echo started; sh -c 'echo $$ > " + pid_file + "; exec sleep 30'; echo after", options);
  EXPECT_TRUE(done.timed_out);
  EXPECT_FALSE(done.restarted);
  EXPECT_EQ(done.exit_status, 130);
  EXPECT_EQ(done.out, "started\n");  // output before the timeout is kept; `after` never ran
  const pid_t sleeper = std::stoi(read_file(pid_file));
  EXPECT_FALSE(process_is_running(sleeper)) << "the timed-out command's process survived";
  EXPECT_EQ(shell.run("echo $X; pwd").out, "kept\n/usr\n");
}

// A pipe for run_options::interrupt_fd, closed with the test.
class interrupt_pipe {
 public:
  interrupt_pipe() {
    if (::pipe2(fds_, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  }
  ~interrupt_pipe() {
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  interrupt_pipe(const interrupt_pipe&) = delete;
  interrupt_pipe& operator=(const interrupt_pipe&) = delete;
  [[nodiscard]] int read_end() const { return fds_[0]; }
  [[nodiscard]] bool fire() const { return ::write(fds_[1], "x", 1) == 1; }

 private:
  int fds_[2] = {-1, -1};
};

// Options that fire `wake` once the command's stdout so far is "started\n" (kept in `seen`).
run_options interrupted_once_started(const interrupt_pipe& wake, std::string& seen) {
  run_options options;
  options.interrupt_fd = wake.read_end();
  options.on_output = [&wake, &seen](output_stream stream, std::string_view bytes) {
    if (stream == output_stream::out) seen += bytes;
    if (seen == "started\n") {
      EXPECT_TRUE(wake.fire());
    }
  };
  return options;
}

// run_options::interrupt_fd: what a program does on Ctrl-C, or from another thread.
TEST_P(session_test, an_interrupt_fd_interrupts_the_command_and_keeps_the_session) {
  auto shell = open();
  const std::string pid_file = scratch() + "/pid";
  shell.run("X=kept; cd /usr");
  const interrupt_pipe wake;
  std::string seen;
  // Fired once the command has visibly started, its sleeper's pid written.
  const auto options = interrupted_once_started(wake, seen);
  const auto& done = shell.run(
      "sh -c 'echo $$ > " + pid_file + "; echo started; exec sleep 30'; echo after", options);
  EXPECT_FALSE(done.timed_out);
  EXPECT_FALSE(done.restarted);
  EXPECT_EQ(done.exit_status, 130);
  EXPECT_EQ(seen, "started\n");  // `after` never ran
  const pid_t sleeper = std::stoi(read_file(pid_file));
  EXPECT_FALSE(process_is_running(sleeper)) << "the interrupted command's process survived";
  // The descriptor is still readable (Tether does not drain it): the next command runs anyway,
  // since only a run given the descriptor watches it.
  EXPECT_EQ(shell.run("echo $X; pwd").out, "kept\n/usr\n");
}

TEST_P(session_test, a_command_ignoring_an_interrupt_fd_is_killed_and_no_shell_started_then) {
  auto shell = open({.interrupt_grace = 400ms, .restart_on_death = true});
  const std::string pid_file = scratch() + "/pid";
  const interrupt_pipe wake;
  std::string seen;
  const auto options = interrupted_once_started(wake, seen);
  // `trap '' INT` makes the shell and its children ignore SIGINT, so only killing works.
  const auto& done = shell.run(
      "trap '' INT; sh -c 'echo $$ > " + pid_file + "; echo started; exec sleep 30'", options);
  EXPECT_FALSE(done.exit_status.has_value());
  EXPECT_FALSE(done.timed_out);
  EXPECT_FALSE(done.restarted);
  EXPECT_FALSE(shell.alive()) << "a new shell was started inside the interrupted run()";
  EXPECT_FALSE(process_still_running_after(std::stoi(read_file(pid_file)), 5.0));
  const auto& next = shell.run("echo back");  // restart_on_death: the next run starts one
  EXPECT_TRUE(next.restarted);
  EXPECT_EQ(next.out, "back\n");
}

TEST_P(session_test, an_interrupt_fd_readable_before_run_means_the_command_is_not_sent) {
  auto shell = open();
  const std::string ran = scratch() + "/ran";
  const interrupt_pipe wake;
  ASSERT_TRUE(wake.fire());
  run_options options;
  options.interrupt_fd = wake.read_end();
  const auto& done = shell.run("touch " + ran + "; echo ran", options);
  EXPECT_EQ(done.exit_status, 130);
  EXPECT_FALSE(done.restarted);
  EXPECT_EQ(done.out, "");
  EXPECT_FALSE(std::filesystem::exists(ran));
  EXPECT_EQ(shell.run("echo fine").out, "fine\n");
}

// The interrupt comes while the shell is being started again for the command: the setup
// command of the restart makes the descriptor (a FIFO's read end) readable.
TEST_P(session_test, an_interrupt_fd_firing_during_a_restart_means_the_command_is_not_sent) {
  const std::string fifo = scratch() + "/fifo";
  const std::string ran = scratch() + "/ran";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0666), 0);
  ::chmod(fifo.c_str(), 0666);  // the SSH test account writes it too
  const int wake = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  ASSERT_GE(wake, 0);
  // A writer kept open, so the read end does not show POLLHUP whenever the setup's is closed.
  const int keep = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  ASSERT_GE(keep, 0);
  auto shell = open({.restart_on_death = true, .setup_commands = {"echo x > " + fifo}});
  char drained[16];
  ASSERT_GT(::read(wake, drained, sizeof drained), 0);  // the first start's setup wrote it
  std::error_code ec;
  shell.run("exit 3", {}, ec);
  ASSERT_EQ(ec, errc::shell_exited);
  run_options options;
  options.interrupt_fd = wake;
  const auto& done = shell.run("touch " + ran + "; echo ran", options);
  EXPECT_EQ(done.exit_status, 130);
  EXPECT_TRUE(done.restarted);
  EXPECT_EQ(done.out, "");
  EXPECT_FALSE(std::filesystem::exists(ran));
  EXPECT_EQ(shell.run("echo fine").out, "fine\n");
  ::close(wake);
  ::close(keep);
}

// A SIGINT that meets a session's first command as it starts: zsh may then print the
// handshake's marker line again, which must not end up in any output.
TEST_P(session_test, an_interrupt_as_the_first_command_starts_leaves_no_stray_output) {
  for (int round = 0; round < 5; ++round) {
    auto shell = open({.interrupt_grace = 400ms});
    run_options options;
    options.timeout = 1us;  // the interrupt follows the command line at once
    const auto& done = shell.run("sleep 30", options);
    EXPECT_TRUE(done.timed_out);
    EXPECT_EQ(done.out, "") << "round " << round;
    EXPECT_EQ(shell.run("echo fine").out, "fine\n") << "round " << round;
  }
}

TEST_P(session_test, an_interrupt_fd_does_not_hide_that_the_session_is_closed) {
  auto shell = open();
  std::error_code ec;
  shell.run("exit 3", {}, ec);
  ASSERT_EQ(ec, errc::shell_exited);
  const interrupt_pipe wake;
  ASSERT_TRUE(wake.fire());
  run_options options;
  options.interrupt_fd = wake.read_end();
  shell.run("echo never", options, ec);
  EXPECT_EQ(ec, errc::session_closed);
}

TEST_P(session_test, an_interrupt_fd_that_is_not_open_is_refused) {
  auto shell = open();
  run_options options;
  options.interrupt_fd = 987;
  try {
    shell.run("echo never", options);
    ADD_FAILURE() << "no error";
  } catch (const error& failure) {
    EXPECT_EQ(failure.code(), errc::invalid_argument);
    EXPECT_STREQ(failure.what(), "run_options::interrupt_fd 987 is not an open descriptor");
  }
  EXPECT_EQ(shell.run("echo fine").out, "fine\n");
}

TEST_P(session_test, idle_timeout_fires_only_when_output_stops) {
  auto shell = open();
  run_options options;
  options.idle_timeout = 1500ms;
  // 1.5 s in all without output would time out; a line every 0.1 s keeps it going.
  const auto busy = shell.run(
      "for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do "
      "echo $i; sleep 0.1; done",
      options);
  EXPECT_FALSE(busy.timed_out);
  EXPECT_EQ(busy.out, "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n15\n16\n17\n18\n19\n20\n");
  const auto quiet = shell.run("echo a; sleep 30", options);
  EXPECT_TRUE(quiet.timed_out);
  EXPECT_EQ(quiet.out, "a\n");
}

TEST_P(session_test, session_timeout_is_the_default_and_changeable) {
  auto shell = open({.timeout = 60s});
  EXPECT_DOUBLE_EQ(shell.timeout().count(), 60.0);
  shell.set_timeout(seconds{0.25});
  EXPECT_DOUBLE_EQ(shell.timeout().count(), 0.25);
  EXPECT_TRUE(shell.run("sleep 30").timed_out);
  EXPECT_FALSE(shell.run("sleep 0.01").timed_out);
}

TEST_P(session_test, a_late_interrupt_never_hits_the_next_command) {
  // A command that ends just as its timeout fires: the interrupt (over SSH it travels on a side
  // channel) must not land on the command after it.
  auto shell = open();
  for (int round = 0; round < 8; ++round) {
    shell.run("sleep 0.1", {.timeout = seconds{0.1}});
    const auto& next = shell.run("sleep 0.05; echo ok");
    EXPECT_EQ(next.out, "ok\n") << "round " << round;
    EXPECT_EQ(next.exit_status, 0) << "round " << round;
    EXPECT_FALSE(next.timed_out) << "round " << round;
  }
}

TEST_P(session_test, an_interrupt_between_commands_is_harmless) {
  if (GetParam().over_ssh()) GTEST_SKIP() << "signals the local shell's process group";
  // Under `set -u` too: the trap must not read a variable the shell may not have.
  for (const char* state : {"X=kept", "set -u; X=kept"}) {
    auto shell = open();
    shell.run(state);
    ::kill(-shell.shell_pid(), SIGINT);  // the shell is idle, reading its next command
    ::usleep(100 * 1000);
    const auto& next = shell.run("echo \"$X\"");
    EXPECT_EQ(next.out, "kept\n") << state;
    EXPECT_EQ(next.err, "") << state;
    EXPECT_EQ(next.exit_status, 0) << state;
  }
}

TEST_P(session_test, xtrace_does_not_break_the_framing) {
  auto shell = open();
  shell.run("set -x");
  const auto& done = shell.run("echo traced");
  EXPECT_EQ(done.out, "traced\n");
  EXPECT_EQ(done.exit_status, 0);
  // (The trace itself, where the shell writes one, is the command's stderr.)
  shell.run("set +x");
  EXPECT_EQ(shell.run("echo after").out, "after\n");
}

TEST_P(session_test, a_debug_trap_does_not_break_the_framing) {
  // bash, zsh and ksh run a DEBUG trap before every command, the framing's own included.
  auto shell = open();
  shell.run("trap 'debug_seen=yes' DEBUG");  // dash, busybox and mksh refuse it: no matter
  const auto& done = shell.run("echo one; (exit 4)");
  EXPECT_EQ(done.out, "one\n");
  EXPECT_EQ(done.exit_status, 4);
  const auto& slow = shell.run("sleep 30", {.timeout = seconds{0.5}});
  EXPECT_TRUE(slow.timed_out);
  EXPECT_FALSE(slow.restarted);
  EXPECT_EQ(shell.run("echo two").out, "two\n");
}

TEST_P(session_test, says_whether_its_shell_is_local) {
  // tether run kills a local shell's process group at a second Ctrl-C; over SSH that group is
  // the client's, not the commands'.
  auto shell = open();
  EXPECT_EQ(shell.shell_is_local(), !GetParam().name.starts_with("ssh"));
  if (shell.shell_is_local()) {
    EXPECT_GT(shell.shell_pid(), 0);
  }
}

TEST_P(session_test, bash_gets_lines_of_its_own) {
  // Checks that bash lines are in use where they should be, and only there: they run the
  // command outside any function and without the common entry point's __tether_cmd.
  auto shell = open();
  const std::string command = "echo \"${__tether_cmd:-none}\"";
  EXPECT_EQ(shell.run(command).out, runs_commands_at_the_top_level() ? "none\n" : command + "\n");
  if (runs_commands_at_the_top_level()) {
    EXPECT_EQ(shell.run("echo \"${FUNCNAME-top}\"").out, "top\n");
  }
}

TEST_P(session_test, variables_a_command_declares_outlive_it) {
  // declare and typeset make local variables inside a function: commands must not run in one.
  if (!runs_commands_at_the_top_level() && GetParam().name != "ksh") {
    GTEST_SKIP() << "zsh and mksh commands still run in a function; dash and busybox have no "
                    "typeset";
  }
  auto shell = open();
  const bool bash = runs_commands_at_the_top_level();
  const auto made = shell.run(bash ? "declare -A m; m[k]=v; declare -i n=2+2; declare -x E=e"
                                   : "typeset -A m; m[k]=v; typeset -i n=2+2; typeset -x E=e");
  EXPECT_EQ(made.exit_status, 0) << made.err;
  const auto seen = shell.run("echo \"${m[k]} $n $E\"; env | grep '^E='");
  EXPECT_EQ(seen.out, "v 4 e\nE=e\n");
  // A command given stdin data runs the same way (its data comes through a file).
  const auto read_in = shell.run(bash ? "declare got; read -r got" : "typeset got; read -r got",
                                 {.stdin_data = std::string("from stdin\n")});
  EXPECT_EQ(read_in.exit_status, 0) << read_in.err;
  EXPECT_EQ(shell.run("echo \"$got\"").out, "from stdin\n");
}

TEST_P(session_test, aliases_of_echo_and_printf_do_not_break_the_framing) {
  // The markers are printed by `echo` and `printf`: an alias of the user's must not stand in.
  auto shell = open();
  shell.run(
      "alias echo=: printf=: eval='echo aliased' 2>/dev/null; shopt -s expand_aliases "
      "2>/dev/null; true");
  const auto& done = shell.run("command printf 'hi\\n'");
  EXPECT_EQ(done.out, "hi\n");
  EXPECT_EQ(done.exit_status, 0);
  EXPECT_FALSE(done.timed_out);
  EXPECT_FALSE(done.restarted);
}

TEST_P(session_test, an_ifs_of_digits_does_not_split_the_status) {
  auto shell = open();
  shell.run("IFS=0123456789");
  const auto& done = shell.run("false");
  EXPECT_EQ(done.exit_status, 1);
  EXPECT_TRUE(done.error.empty()) << done.error;
  EXPECT_EQ(shell.run("(exit 10)").exit_status, 10);
  // A command with stdin data has its status carried another way.
  const auto& with_data = shell.run("cat; (exit 7)", {.stdin_data = std::string("x")});
  EXPECT_EQ(with_data.out, "x");
  EXPECT_EQ(with_data.exit_status, 7) << with_data.err;
}

TEST_P(session_test, stdin_data_that_cannot_be_stored_is_status_125_even_under_set_e) {
  auto shell = open();
  shell.run("set -e; TMPDIR=/nonexistent/tether; export TMPDIR");
  const auto& done = shell.run("cat", {.stdin_data = std::string("x")});
  EXPECT_EQ(done.exit_status, 125) << done.err << done.error;
  EXPECT_FALSE(done.restarted);
  EXPECT_EQ(shell.run("echo alive").out, "alive\n");
}

TEST_P(session_test, bash_version_in_the_environment_fools_nobody) {
  // dash, zsh and mksh take BASH_VERSION from the environment; only bash's own FUNCNAME makes
  // a shell get bash lines and the trap that goes with them.
  ::setenv("BASH_VERSION", "5.2", 1);
  auto shell = open();
  ::unsetenv("BASH_VERSION");
  const auto& slow = shell.run("sleep 30; echo after", {.timeout = seconds{0.5}});
  EXPECT_TRUE(slow.timed_out);
  EXPECT_EQ(slow.out, "");
  EXPECT_EQ(slow.exit_status, 130);
  EXPECT_FALSE(slow.restarted);
}

TEST_P(session_test, stdin_data_survives_noclobber) {
  auto shell = open();
  shell.run("set -C");
  const auto& done = shell.run("cat", {.stdin_data = std::string("hello")});
  EXPECT_EQ(done.out, "hello");
  EXPECT_EQ(done.exit_status, 0);
}

TEST_P(session_test, stdin_data_files_are_removed_even_after_a_timeout) {
  auto shell = open();
  const std::string dir = scratch() + "/tmp";
  shell.run("mkdir '" + dir + "' && TMPDIR='" + dir + "' && export TMPDIR");
  EXPECT_EQ(shell.run("cat", {.stdin_data = std::string("x")}).out, "x");
  const auto& timed =
      shell.run("cat >/dev/null; echo read; sleep 30",
                {.timeout = std::chrono::duration<double>(0.5), .stdin_data = std::string("x")});
  EXPECT_TRUE(timed.timed_out);
  EXPECT_FALSE(timed.restarted);
  EXPECT_EQ(timed.out, "read\n");
  EXPECT_EQ(timed.exit_status, 130);
  EXPECT_EQ(shell.run("ls -A \"$TMPDIR\"").out, "");
}

TEST_P(session_test, command_ignoring_the_interrupt_gets_the_session_restarted) {
  auto shell = open({.interrupt_grace = 300ms});
  const std::string pid_file = scratch() + "/pid";
  shell.run("cd /usr; X=lost");
  const std::string first_shell = shell.run("echo $$").out;
  run_options options;
  options.timeout = 1s;
  // `trap '' INT` makes the shell and its children ignore SIGINT, so only killing works.
  const auto done = shell.run(
      "trap '' INT; echo partial; sh -c 'echo $$ > " + pid_file + "; exec sleep 30'", options);
  EXPECT_TRUE(done.timed_out);
  EXPECT_TRUE(done.restarted);
  EXPECT_FALSE(done.exit_status.has_value());
  EXPECT_EQ(done.out, "partial\n");
  EXPECT_FALSE(process_still_running_after(std::stoi(read_file(pid_file)), 5.0));
  EXPECT_NE(shell.run("echo $$").out, first_shell);
  const auto after = shell.run("echo \"[$X]\"");
  EXPECT_EQ(after.out, "[]\n");  // a new shell: the old state is gone, and the result said so
  EXPECT_FALSE(after.restarted);
}

TEST_P(session_test, setup_commands_restore_state_after_a_restart) {
  auto shell = open({.interrupt_grace = 200ms, .setup_commands = {"cd /usr", "Y=again"}});
  EXPECT_EQ(shell.run("pwd; echo $Y").out, "/usr\nagain\n");
  run_options options;
  options.timeout = 100ms;
  EXPECT_TRUE(shell.run("trap '' INT; sleep 30", options).restarted);
  EXPECT_EQ(shell.run("pwd; echo $Y").out, "/usr\nagain\n");
}

TEST_P(session_test, shell_that_exits_is_a_clear_error_with_partial_output) {
  auto shell = open();
  try {
    shell.run("echo before; echo oops >&2; exit 3");
    FAIL() << "no error";
  } catch (const error& failure) {
    EXPECT_EQ(failure.code(), errc::shell_exited);
    EXPECT_EQ(std::string(failure.what()),
              "the shell exited with status 3 while running 'echo before; echo oops >&2; exit 3'");
    EXPECT_EQ(failure.partial().out, "before\n");
    EXPECT_EQ(failure.partial().err, "oops\n");
  }
  EXPECT_FALSE(shell.alive());
  try {
    shell.run("echo again");
    FAIL() << "no error";
  } catch (const error& failure) {
    EXPECT_EQ(failure.code(), errc::session_closed);
    EXPECT_THAT(failure.what(), HasSubstr("exited with status 3"));
    EXPECT_THAT(failure.what(), HasSubstr("restart_on_death"));
  }
}

TEST_P(session_test, shell_replaced_by_exec_is_a_clear_error) {
  auto shell = open();
  std::error_code ec;
  const auto done = shell.run("exec true", {}, ec);
  EXPECT_EQ(ec, errc::shell_exited);
  EXPECT_EQ(done.error, "the shell exited with status 0 while running 'exec true'");
}

TEST_P(session_test, shell_killed_by_a_signal_is_a_clear_error) {
  auto shell = open();
  std::error_code ec;
  const auto done = shell.run("echo last words; kill -9 $$", {}, ec);
  EXPECT_EQ(ec, errc::shell_exited);
  if (GetParam().native) {
    EXPECT_THAT(done.error, HasSubstr("the shell was killed by signal SIGKILL"));
  } else if (GetParam().over_ssh()) {
    // ssh reports a remote shell killed by a signal only as its own exit status 255.
    EXPECT_THAT(done.error, HasSubstr("ssh exited with status 255"));
  } else {
    EXPECT_THAT(done.error, HasSubstr("the shell was killed by signal 9 (SIGKILL)"));
  }
  EXPECT_EQ(done.out, "last words\n");
}

TEST_P(session_test, writing_to_a_dead_shell_is_an_error_not_sigpipe) {
  if (GetParam().native) GTEST_SKIP() << "no local process to kill (libssh; see ssh_native tests)";
  auto shell = open();
  const pid_t pid = shell.shell_pid();
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  while (process_is_running(pid)) ::usleep(1000);
  // Without transport::write_without_sigpipe this write would kill the test program.
  std::error_code ec;
  const auto done = shell.run(std::string(256 * 1024, ':'), {}, ec);
  EXPECT_EQ(ec, errc::shell_exited);
  EXPECT_THAT(done.error, HasSubstr("killed by signal 9"));
}

TEST_P(session_test, restart_on_death_starts_a_new_shell) {
  auto shell = open({.restart_on_death = true});
  std::error_code ec;
  shell.run("exit 5", {}, ec);
  EXPECT_EQ(ec, errc::shell_exited);
  const auto done = shell.run("echo back");
  EXPECT_TRUE(done.restarted);
  EXPECT_EQ(done.out, "back\n");
  EXPECT_FALSE(shell.run("true").restarted);
}

TEST_P(session_test, background_process_does_not_block_and_dies_with_the_session) {
  const std::string pid_file = scratch() + "/bg";
  pid_t background = 0;
  {
    auto shell = open();
    const auto done = shell.run("sleep 30 & echo $! > " + pid_file + "; echo started");
    EXPECT_EQ(done.out, "started\n");
    background = std::stoi(read_file(pid_file));
    EXPECT_TRUE(process_is_running(background));
    EXPECT_EQ(shell.run("echo next").out, "next\n");
  }
  EXPECT_FALSE(process_still_running_after(background, 5.0));
}

TEST_P(session_test, background_output_after_the_command_goes_to_the_next_result) {
  auto shell = open();
  shell.run("(sleep 0.2; echo late) &");
  ::usleep(400 * 1000);
  EXPECT_EQ(shell.run("echo now").out, "late\nnow\n");
}

TEST_P(session_test, many_sessions_at_once) {
  // 200 local shells; over SSH 40 connections (each costs a key exchange on 2 cores).
  const std::size_t count = GetParam().over_ssh() ? 40 : 200;
  std::vector<session> shells;
  for (std::size_t i = 0; i < count; ++i) shells.push_back(open());
  std::set<std::string> pids;
  for (auto& shell : shells) pids.insert(shell.run("echo $$").out);
  EXPECT_EQ(pids.size(), count);
}

TEST_P(session_test, moved_session_keeps_its_shell) {
  auto first = open();
  first.run("V=moved");
  session second = std::move(first);
  EXPECT_EQ(second.run("echo $V").out, "moved\n");
  EXPECT_THROW(first.run("true"), error);  // NOLINT(bugprone-use-after-move): checked on purpose
}

TEST_P(session_test, closed_session_refuses_commands_and_reaps_its_shell) {
  auto shell = open();
  // The shell's own pid: the local one, or the remote one (the test sshd runs here too).
  const pid_t pid = std::stoi(shell.run("echo $$").out);
  shell.close();
  EXPECT_FALSE(process_still_running_after(pid, 5.0));
  try {
    shell.run("true");
    FAIL() << "no error";
  } catch (const error& failure) {
    EXPECT_EQ(failure.code(), errc::session_closed);
  }
}

INSTANTIATE_TEST_SUITE_P(shells, session_test, ::testing::ValuesIn(every_transport()), shell_name);

}  // namespace
}  // namespace tether::test
