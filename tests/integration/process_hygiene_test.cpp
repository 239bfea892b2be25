// How the shell process is started, watched and ended: perlipc's lessons as tests.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "helpers/hygiene_fixture.hpp"
#include "helpers/start_error.hpp"
#include "tether/tether.hpp"

namespace tether::test {
namespace {

using ::testing::HasSubstr;
using process_hygiene = hygiene_fixture;

TEST_F(process_hygiene, missing_shell_is_an_error_naming_it) {
  const auto failure = start_error({.shell_argv = {"no-such-shell-here"}});
  EXPECT_EQ(failure.code(), errc::spawn_failed);
  EXPECT_EQ(std::string(failure.what()),
            "cannot start the shell 'no-such-shell-here': no such program on PATH");
}

TEST_F(process_hygiene, unexecutable_shell_is_reported_through_the_exec_error_pipe) {
  char pattern[] = "/tmp/tether-noexec-XXXXXX";
  const int fd = ::mkstemp(pattern);  // mode 0600: no execute bit for anyone, root included
  ASSERT_GE(fd, 0);
  ::close(fd);
  const std::string path = pattern;
  const auto failure = start_error({.shell_argv = {path}});
  EXPECT_EQ(failure.code(), errc::spawn_failed);
  EXPECT_EQ(std::string(failure.what()),
            "cannot start the shell '" + path + "': Permission denied");
  ::unlink(path.c_str());
}

TEST_F(process_hygiene, missing_working_directory_is_an_error) {
  const auto failure = start_error({.working_directory = "/no/such/dir"});
  EXPECT_EQ(failure.code(), errc::spawn_failed);
  EXPECT_EQ(std::string(failure.what()),
            "cannot start the shell '/bin/sh' in '/no/such/dir': No such file or directory");
}

TEST_F(process_hygiene, shell_that_exits_at_start_is_a_start_error_with_its_stderr) {
  const auto failure = start_error({.shell_command = "sh -c 'echo cannot log in >&2; exit 255'"});
  EXPECT_EQ(failure.code(), errc::start_failed);
  EXPECT_EQ(std::string(failure.what()),
            "the shell 'sh -c 'echo cannot log in >&2; exit 255'' exited during start-up "
            "(exited with status 255): cannot log in");  // no newline to split a report line
}

TEST_F(process_hygiene, shell_that_never_answers_is_a_start_timeout) {
  const auto failure = start_error({.shell_argv = {"sleep", "30"}, .start_timeout = seconds{0.3}});
  EXPECT_EQ(failure.code(), errc::start_failed);
  EXPECT_THAT(failure.what(), HasSubstr("did not answer within the start timeout"));
}

TEST_F(process_hygiene, failing_setup_command_is_a_start_error) {
  const auto failure = start_error({.setup_commands = {"cd /no/such/dir"}});
  EXPECT_EQ(failure.code(), errc::start_failed);
  EXPECT_THAT(failure.what(), HasSubstr("the setup command 'cd /no/such/dir' failed"));
}

TEST_F(process_hygiene, command_string_form_like_ipc_session) {
  session shell("LC_ALL=C bash --norc", seconds{30});
  EXPECT_EQ(shell.run("echo $LC_ALL ${BASH_VERSION:+bash}").out, "C bash\n");
  EXPECT_EQ(shell.target(), "LC_ALL=C bash --norc");
}

TEST_F(process_hygiene, default_shell_is_bin_sh_and_target_says_so) {
  session shell;
  EXPECT_EQ(shell.target(), "local:/bin/sh");
  EXPECT_EQ(shell.run("echo hi").target, "local:/bin/sh");
}

TEST_F(process_hygiene, working_directory_is_set_in_the_child) {
  session shell({.working_directory = "/usr"});
  EXPECT_EQ(shell.run("pwd").out, "/usr\n");
  char here[4096];
  ASSERT_NE(::getcwd(here, sizeof here), nullptr);
  EXPECT_STRNE(here, "/usr");
}

TEST_F(process_hygiene, shell_inherits_only_its_three_pipes) {
  int leaky[2];
  ASSERT_EQ(::pipe(leaky), 0);  // deliberately without O_CLOEXEC
  {
    session shell;
    const auto done = shell.run("[ -e /proc/$$/fd/" + std::to_string(leaky[0]) +
                                " ] && echo leaked || echo clean");
    EXPECT_EQ(done.out, "clean\n");
  }
  ::close(leaky[0]);
  ::close(leaky[1]);
}

TEST_F(process_hygiene, shell_runs_in_its_own_session_and_process_group) {
  session shell;
  const auto done = shell.run("ps -o pid=,pgid=,sid= -p $$ 2>/dev/null || cat /proc/$$/stat");
  const auto pid = std::to_string(shell.shell_pid());
  const std::string stat = read_file("/proc/" + pid + "/stat");
  const auto after = stat.substr(stat.rfind(')') + 2);
  std::istringstream fields(after);
  std::string state;
  std::string parent;
  std::string group;
  std::string sid;
  fields >> state >> parent >> group >> sid;
  EXPECT_EQ(group, pid);
  EXPECT_EQ(sid, pid);
}

TEST_F(process_hygiene, signal_mask_and_dispositions_are_reset_in_the_child) {
  sigset_t usr2;
  sigset_t before;
  sigemptyset(&usr2);
  sigaddset(&usr2, SIGUSR2);
  ::pthread_sigmask(SIG_BLOCK, &usr2, &before);
  struct sigaction ignore {};
  struct sigaction previous {};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGUSR1, &ignore, &previous);
  {
    session shell;
    const pid_t pid = shell.shell_pid();
    EXPECT_EQ(proc_status_field(pid, "SigBlk"), "0000000000000000");
    const auto ignored = std::stoull(proc_status_field(pid, "SigIgn"), nullptr, 16);
    EXPECT_EQ(ignored & (1ULL << (SIGUSR1 - 1)), 0U) << "SIGUSR1 still ignored in the shell";
  }
  ::sigaction(SIGUSR1, &previous, nullptr);
  ::pthread_sigmask(SIG_SETMASK, &before, nullptr);
}

TEST_F(process_hygiene, bash_started_with_sigint_ignored_keeps_the_common_lines) {
  // A shell cannot trap a signal ignored when it started, so bash's lines, which rely on the
  // trap's break, must not be used: the prelude tries the break once and keeps the common ones.
  session shell({.shell_command = "sh -c 'trap \"\" INT; exec bash'"});
  const std::string command = "echo \"${__tether_cmd:-none} ${BASH_VERSION:+bash}\"";
  EXPECT_EQ(shell.run(command).out, command + " bash\n");
  EXPECT_EQ(shell.run("declare x=1; echo $x").out, "1\n");
}

TEST_F(process_hygiene, library_installs_no_signal_handler) {
  struct sigaction chld_before {};
  struct sigaction pipe_before {};
  ::sigaction(SIGCHLD, nullptr, &chld_before);
  ::sigaction(SIGPIPE, nullptr, &pipe_before);
  {
    session shell;
    std::error_code ec;
    shell.run("exit 1", {}, ec);
  }
  struct sigaction chld_after {};
  struct sigaction pipe_after {};
  ::sigaction(SIGCHLD, nullptr, &chld_after);
  ::sigaction(SIGPIPE, nullptr, &pipe_after);
  EXPECT_EQ(chld_after.sa_handler, chld_before.sa_handler);
  EXPECT_EQ(pipe_after.sa_handler, pipe_before.sa_handler);
}

TEST_F(process_hygiene, pending_sigpipe_of_the_program_is_not_swallowed) {
  sigset_t pipe_set;
  sigset_t before;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  ::pthread_sigmask(SIG_BLOCK, &pipe_set, &before);
  ::raise(SIGPIPE);  // the program's own, pending while blocked
  {
    session shell;
    ::kill(shell.shell_pid(), SIGKILL);
    while (process_is_running(shell.shell_pid())) ::usleep(1000);
    std::error_code ec;
    shell.run(std::string(200000, ':'), {}, ec);
    EXPECT_EQ(ec, errc::shell_exited);
  }
  sigset_t pending;
  ::sigpending(&pending);
  EXPECT_EQ(sigismember(&pending, SIGPIPE), 1);
  const timespec no_wait{};
  ::sigtimedwait(&pipe_set, nullptr, &no_wait);
  ::pthread_sigmask(SIG_SETMASK, &before, nullptr);
}

TEST_F(process_hygiene, destroying_a_session_reaps_its_shell) {
  pid_t pid = 0;
  {
    session shell;
    pid = shell.shell_pid();
    EXPECT_TRUE(process_is_running(pid));
  }
  EXPECT_FALSE(process_is_running(pid));
}

TEST_F(process_hygiene, destroying_a_busy_session_kills_the_running_command) {
  pid_t pid = 0;
  char dir_pattern[] = "/tmp/tether-hygiene-XXXXXX";
  const std::string dir = ::mkdtemp(dir_pattern);
  {
    session shell;
    run_options options;
    options.timeout = seconds{0.2};
    options.idle_timeout = std::nullopt;
    // A command left running in the background of the shell: killed with the group.
    shell.run("sh -c 'echo $$ > " + dir + "/pid; exec sleep 60' &");
    while (read_file(dir + "/pid").empty()) ::usleep(1000);
    pid = std::stoi(read_file(dir + "/pid"));
  }
  EXPECT_FALSE(process_still_running_after(pid, 5.0));
  std::remove((dir + "/pid").c_str());
  ::rmdir(dir.c_str());
}

TEST_F(process_hygiene, conflicting_options_are_refused) {
  const auto failure = start_error({.shell_argv = {"sh"}, .shell_command = "sh"});
  EXPECT_EQ(failure.code(), errc::invalid_argument);
}

}  // namespace
}  // namespace tether::test

namespace tether::test {
namespace {

TEST_F(process_hygiene, throwing_output_callback_stops_the_session_cleanly) {
  session shell({.restart_on_death = true});
  run_options options;
  options.on_output = [](output_stream, std::string_view) { throw std::runtime_error("enough"); };
  EXPECT_THROW(shell.run("echo a; sleep 30", options), std::runtime_error);
  EXPECT_FALSE(shell.alive());
  const auto next = shell.run("echo fresh");  // a new shell, not the abandoned command's output
  EXPECT_TRUE(next.restarted);
  EXPECT_EQ(next.out, "fresh\n");
}

}  // namespace
}  // namespace tether::test

namespace tether::test {
namespace {

TEST_F(process_hygiene, setup_command_that_ignores_the_interrupt_fails_the_start) {
  // Not a restart loop: the same setup command would be replayed for ever.
  const auto failure = start_error({.timeout = seconds{0.3},
                                    .interrupt_grace = seconds{0.2},
                                    .setup_commands = {"trap '' INT; sleep 30"}});
  EXPECT_EQ(failure.code(), errc::start_failed);
  EXPECT_THAT(failure.what(), HasSubstr("the setup command 'trap '' INT; sleep 30' failed"));
  EXPECT_THAT(failure.what(), HasSubstr("(timed out)"));
}

TEST_F(process_hygiene, program_that_reaps_children_itself_still_sees_the_shell_end) {
  struct sigaction ignore {};
  struct sigaction previous {};
  ignore.sa_handler = SIG_IGN;  // children are reaped by the kernel: waitid says ECHILD
  ::sigaction(SIGCHLD, &ignore, &previous);
  {
    session shell;
    std::error_code ec;
    const auto& done = shell.run("echo bye; exit 3", {.timeout = seconds{30}}, ec);
    EXPECT_EQ(ec, errc::shell_exited);
    EXPECT_EQ(done.out, "bye\n");
    EXPECT_THAT(done.error, HasSubstr("collected by the program's own SIGCHLD handling"));
  }
  ::sigaction(SIGCHLD, &previous, nullptr);
}

TEST_F(process_hygiene, nul_byte_in_a_command_is_refused) {
  session shell;
  try {
    shell.run(std::string("echo a\0b", 8));
    ADD_FAILURE() << "no error";
  } catch (const error& failure) {
    EXPECT_EQ(failure.code(), errc::invalid_argument);
  }
  EXPECT_EQ(shell.run("echo fine").out, "fine\n");
}

}  // namespace
}  // namespace tether::test
