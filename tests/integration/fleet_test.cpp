#include "tether/fleet.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "helpers/hygiene_fixture.hpp"
#include "helpers/silent_listener.hpp"
#include "helpers/test_sshd.hpp"

namespace tether::test {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

class fleet_test : public hygiene_fixture {};

session_options openssh_to(const test_sshd& server) {
  session_options options;
  options.target = "ssh://tether-sh@127.0.0.1:" + std::to_string(server.port);
  options.ssh.config_file = server.ssh_config();
  return options;
}

session_options native_to(const test_sshd& server) {
  session_options options;
  options.target = "ssh+native://tether-sh@127.0.0.1:" + std::to_string(server.port);
  options.native.config_file = server.ssh_config();
  options.native.known_hosts_file = server.known_hosts();
  options.native.identity_files = {server.user_key()};
  options.native.use_agent = false;
  return options;
}

// Two hundred sessions need about 800 descriptors: more than a default soft limit of 1024
// leaves for the rest of the test.
void raise_descriptor_limit() {
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

TEST_F(fleet_test, two_hundred_local_sessions_answer_and_keep_their_state) {
  raise_descriptor_limit();
  std::vector<std::string> targets(200, "local");
  fleet shells(targets);
  ASSERT_EQ(shells.size(), 200U);
  EXPECT_EQ(shells.target(0), "local");
  EXPECT_EQ(shells.target(1), "local#2");

  const auto first = shells.run("echo $$; cd /tmp");
  ASSERT_EQ(first.size(), 200U);
  std::set<std::string> pids;
  for (const auto& one : first) {
    ASSERT_TRUE(one.ok()) << one.target << ": " << one.outcome.error;
    EXPECT_TRUE(one.connected_at.has_value());
    EXPECT_TRUE(one.first_byte_at.has_value());
    pids.insert(one.outcome.out);
  }
  EXPECT_EQ(pids.size(), 200U) << "each target has a shell of its own";

  // The second command reuses the open sessions: no new connection, state kept.
  const auto second = shells.run("pwd; echo oops >&2; exit_with() { return $1; }; exit_with 3");
  for (std::size_t i = 0; i < second.size(); ++i) {
    const auto& one = second[i];
    EXPECT_EQ(one.target, shells.target(i));
    EXPECT_FALSE(one.error) << one.outcome.error;
    EXPECT_FALSE(one.connected_at.has_value());
    EXPECT_EQ(one.outcome.out, "/tmp\n");
    EXPECT_EQ(one.outcome.err, "oops\n");
    EXPECT_EQ(one.outcome.exit_status, 3);
  }
}

TEST_F(fleet_test, lines_arrive_tagged_with_their_target_and_add_up_to_the_exact_output) {
  fleet shells(std::vector<std::string>{"local:dash", "local:bash", "local:zsh -f"});
  std::map<std::string, std::string> out;
  std::map<std::string, std::string> err;
  std::size_t lines = 0;
  fleet_run_options options;
  options.on_line = [&](const target_line& line) {
    EXPECT_EQ(line.target, shells.target(line.index));
    const auto newline = line.text.find('\n');
    EXPECT_TRUE(newline == std::string_view::npos || newline + 1 == line.text.size())
        << "one line at a time";
    (line.stream == output_stream::out ? out : err)[line.target] += line.text;
    ++lines;
  };
  const auto results = shells.run(
      "printf 'a\\nb\\n'; printf 'c\\n' >&2; sleep 0.1; printf 'd\\nno newline'", options);
  for (const auto& one : results) {
    ASSERT_TRUE(one.ok()) << one.outcome.error;
    EXPECT_EQ(one.outcome.out, "") << "lines went to the callback";
    EXPECT_EQ(out[one.target], "a\nb\nd\nno newline");
    EXPECT_EQ(err[one.target], "c\n");
  }
  EXPECT_EQ(lines, 3U * 5U);
}

TEST_F(fleet_test, a_refusing_and_a_silent_target_fail_alone_and_delay_nobody) {
  const auto& server = shared_sshd();
  silent_listener silent;  // accepts connections and never says a word
  std::vector<session_options> sessions;
  sessions.push_back(openssh_to(server));
  sessions.back().target = "ssh://tether-sh@127.0.0.1:" + std::to_string(silent.port());
  sessions.back().ssh.connect_timeout = 2s;
  sessions.back().start_timeout = 3s;
  sessions.push_back(native_to(server));
  sessions.back().target = "ssh+native://tether-sh@127.0.0.1:1";  // nothing listens there
  sessions.push_back(session_options{.shell_argv = {"dash"}});
  sessions.push_back(openssh_to(server));
  sessions.push_back(native_to(server));
  sessions.push_back(native_to(server));
  sessions.back().target = "ssh+native://tether-sh@127.0.0.1:" + std::to_string(silent.port());
  sessions.back().native.connect_timeout = 2s;
  fleet mixed(std::move(sessions));

  const auto results = mixed.run("echo hello");
  ASSERT_EQ(results.size(), 6U);
  EXPECT_EQ(results[0].error, errc::start_failed) << results[0].outcome.error;
  EXPECT_THAT(results[0].outcome.error, HasSubstr("timed out during banner exchange"));
  EXPECT_EQ(results[1].error, errc::connect_failed);
  EXPECT_THAT(results[1].outcome.error, HasSubstr("Connection refused"));
  EXPECT_EQ(results[5].error, errc::connect_failed) << results[5].outcome.error;
  for (std::size_t i : {2U, 3U, 4U}) {
    ASSERT_TRUE(results[i].ok()) << results[i].target << ": " << results[i].outcome.error;
    EXPECT_EQ(results[i].outcome.out, "hello\n");
    // Order, not speed: the healthy targets were done before the silent ones gave up.
    EXPECT_LT(results[i].finished_at, results[0].finished_at);
    EXPECT_LT(results[i].finished_at, results[5].finished_at);
  }

  // The failed targets are not tried again; the others answer again at once.
  const auto again = mixed.run("echo again");
  EXPECT_EQ(again[1].error, errc::connect_failed);
  EXPECT_EQ(again[4].outcome.out, "again\n");
  EXPECT_FALSE(mixed.alive(0));
  EXPECT_TRUE(mixed.alive(3));
}

TEST_F(fleet_test, a_shell_that_dies_mid_run_is_reported_and_the_rest_go_on) {
  std::vector<session_options> sessions(4, session_options{.shell_argv = {"/bin/sh"}});
  sessions[2].setup_commands = {"export DIE=1"};
  fleet shells(std::move(sessions));
  const auto results = shells.run("echo before; [ -n \"$DIE\" ] && kill -9 $$; echo after");
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (i == 2) continue;
    EXPECT_TRUE(results[i].ok()) << results[i].outcome.error;
    EXPECT_EQ(results[i].outcome.out, "before\nafter\n");
  }
  EXPECT_EQ(results[2].error, errc::shell_exited);
  EXPECT_EQ(results[2].outcome.out, "before\n") << "output before the death is kept";
  EXPECT_THAT(results[2].outcome.error, HasSubstr("SIGKILL"));

  const auto next = shells.run("echo next");
  EXPECT_EQ(next[2].error, errc::session_closed);
  EXPECT_EQ(next[3].outcome.out, "next\n");
}

TEST_F(fleet_test, a_dead_target_restarts_when_asked) {
  fleet_options options;
  options.session.restart_on_death = true;
  fleet shells(std::vector<std::string>{"local", "local"}, options);
  shells.run("cd /tmp");
  const auto died = shells.run("exit 7");
  EXPECT_EQ(died[0].error, errc::shell_exited);
  const auto again = shells.run("pwd");
  EXPECT_TRUE(again[0].ok()) << again[0].outcome.error;
  EXPECT_TRUE(again[0].outcome.restarted);
  EXPECT_NE(again[0].outcome.out, "/tmp\n") << "a new shell: the old state is gone";
}

TEST_F(fleet_test, timeouts_are_per_target_and_keep_each_session) {
  std::vector<session_options> sessions(3, session_options{.shell_argv = {"bash"}});
  sessions[1].setup_commands = {"SLOW=1"};
  fleet shells(std::move(sessions));
  fleet_run_options options;
  options.timeout = 1s;
  const auto results = shells.run("[ -n \"$SLOW\" ] && sleep 30; echo done", options);
  EXPECT_TRUE(results[0].ok());
  EXPECT_TRUE(results[1].outcome.timed_out);
  EXPECT_FALSE(results[1].error) << "a timeout is a result, not a failure";
  EXPECT_EQ(results[1].outcome.exit_status, 130);
  EXPECT_EQ(shells.run("echo $SLOW")[1].outcome.out, "1\n") << "its state survived";
}

TEST_F(fleet_test, can_be_driven_from_the_callers_own_loop) {
  fleet shells(std::vector<std::string>{"local:dash", "local:bash"});
  shells.begin_run("echo $0");
  int steps = 0;
  while (shells.busy()) {
    pollfd ready{.fd = shells.descriptor(), .events = POLLIN, .revents = 0};
    int timeout_ms = -1;
    if (const auto deadline = shells.next_deadline()) {
      timeout_ms =
          static_cast<int>(std::max<long>(0, std::chrono::duration_cast<std::chrono::milliseconds>(
                                                 *deadline - std::chrono::steady_clock::now())
                                                 .count()));
    }
    ::poll(&ready, 1, timeout_ms);
    shells.step();
    ++steps;
  }
  const auto results = shells.take_results();
  ASSERT_EQ(results.size(), 2U);
  EXPECT_EQ(results[0].outcome.out, "/dev/fd/3\n");
  EXPECT_EQ(results[1].outcome.out, "/dev/fd/3\n");
  EXPECT_GT(steps, 0);
}

TEST_F(fleet_test, interrupt_stops_every_running_command_and_keeps_the_sessions) {
  fleet shells(std::vector<std::string>{"local:dash", "local:bash", "local:mksh"});
  shells.run("X=kept");
  std::size_t started = 0;
  fleet_run_options options;
  options.on_line = [&](const target_line&) { ++started; };
  shells.begin_run("echo started; sleep 30", options);
  bool interrupted = false;
  while (shells.busy()) {
    pollfd ready{.fd = shells.descriptor(), .events = POLLIN, .revents = 0};
    ::poll(&ready, 1, 100);
    shells.step();
    // Once every target's command has begun (its first line is in), as Ctrl-C would.
    if (started == 3 && !interrupted) {
      shells.interrupt();
      interrupted = true;
    }
  }
  for (const auto& one : shells.take_results()) {
    EXPECT_EQ(one.outcome.exit_status, 130) << one.target;
    EXPECT_FALSE(one.outcome.timed_out);
  }
  for (const auto& one : shells.run("echo $X")) EXPECT_EQ(one.outcome.out, "kept\n");
}

// A command that ignores SIGINT waits out interrupt_grace after an interrupt; a second
// interrupt (a second Ctrl-C) gives it up at once. The grace here is an hour: without the
// second interrupt the round would not end within the bound below.
TEST_F(fleet_test, a_second_interrupt_gives_up_commands_that_ignore_the_first) {
  fleet_options options;
  options.session.interrupt_grace = seconds{3600};
  fleet shells(std::vector<std::string>{"local:dash", "local:bash"}, options);
  shells.run("X=kept");
  std::size_t started = 0;
  fleet_run_options run;
  run.on_line = [&](const target_line&) { ++started; };
  shells.begin_run("trap '' INT; echo started; sleep 30", run);
  int interrupts = 0;
  std::chrono::steady_clock::time_point first_at;
  const auto bound = std::chrono::steady_clock::now() + std::chrono::seconds(25);
  while (shells.busy() && std::chrono::steady_clock::now() < bound) {
    pollfd ready{.fd = shells.descriptor(), .events = POLLIN, .revents = 0};
    ::poll(&ready, 1, 100);
    shells.step();
    if (started == 2 && interrupts == 0) {
      shells.interrupt();
      first_at = std::chrono::steady_clock::now();
      interrupts = 1;
    }
    // Some time after the first, as a user pressing Ctrl-C again would.
    if (interrupts == 1 && std::chrono::steady_clock::now() - first_at > 300ms) {
      ASSERT_TRUE(shells.busy()) << "the first interrupt alone ended commands that ignore it";
      shells.interrupt();
      interrupts = 2;
    }
  }
  ASSERT_FALSE(shells.busy()) << "the second interrupt did not give the commands up";
  for (const auto& one : shells.take_results()) {
    EXPECT_TRUE(one.outcome.restarted) << one.target;
    EXPECT_FALSE(one.outcome.timed_out) << one.target;
  }
  // Killed with their shells: the sessions go on with new ones.
  for (const auto& one : shells.run("echo ${X-new}")) EXPECT_EQ(one.outcome.out, "new\n");
}

TEST_F(fleet_test, at_most_max_connecting_sessions_start_at_once) {
  fleet_options options;
  options.max_connecting = 1;
  fleet shells(std::vector<std::string>(5, "local"), options);
  const auto opened = shells.open();
  for (std::size_t i = 1; i < opened.size(); ++i) {
    ASSERT_TRUE(opened[i].connected_at && opened[i - 1].connected_at);
    EXPECT_GE(*opened[i].connected_at, *opened[i - 1].connected_at) << "one after another";
  }
}

TEST_F(fleet_test, the_output_cap_bounds_streamed_lines_too) {
  fleet shells(std::vector<std::string>{"local:dash", "local:bash"});
  fleet_run_options options;
  options.output_cap = 5;
  std::map<std::pair<std::size_t, output_stream>, std::string> streamed;
  options.on_line = [&](const target_line& line) {
    streamed[{line.index, line.stream}] += line.text;
  };
  const auto results = shells.run("seq 1 1000; echo e >&2", options);
  for (std::size_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ((streamed[{i, output_stream::out}]), "1\n2\n3") << results[i].target;  // 5 bytes
    EXPECT_EQ((streamed[{i, output_stream::err}]), "e\n") << results[i].target;
    EXPECT_TRUE(results[i].outcome.out_truncated) << results[i].target;
    EXPECT_FALSE(results[i].outcome.err_truncated) << results[i].target;
  }
}

TEST_F(fleet_test, a_command_can_run_on_some_targets_only) {
  fleet shells(std::vector<std::string>{"local", "local", "local"});
  fleet_run_options options;
  options.only = {2, 0};
  const auto results = shells.run("echo x", options);
  ASSERT_EQ(results.size(), 2U);
  EXPECT_EQ(results[0].index, 0U);
  EXPECT_EQ(results[1].index, 2U);
  EXPECT_FALSE(shells.alive(1)) << "never needed, never opened";
  options.only = {7};
  EXPECT_THROW(shells.run("true", options), error);
}

TEST_F(fleet_test, a_restart_that_fails_at_once_is_a_result_not_a_hang) {
  char pattern[] = "/tmp/tether-fleet-wd-XXXXXX";
  const std::string directory = ::mkdtemp(pattern);
  session_options options{.shell_argv = {"/bin/sh"}};
  options.working_directory = directory;
  options.restart_on_death = true;
  options.setup_commands = {"DOOMED=1"};
  fleet shells(std::vector<session_options>{options, session_options{.shell_argv = {"dash"}}});
  // The first shell removes the directory it must restart in, then dies.
  shells.run("[ -z \"$DOOMED\" ] || { cd /; rmdir " + directory + "; exit 3; }");
  const auto results = shells.run("echo hi");
  EXPECT_EQ(results[0].error, errc::spawn_failed) << results[0].outcome.error;
  EXPECT_THAT(results[0].outcome.error, HasSubstr(directory));
  EXPECT_EQ(results[1].outcome.out, "hi\n");
}

TEST_F(fleet_test, interrupt_reaches_targets_still_starting) {
  fleet_options options;
  options.max_connecting = 1;  // the second target waits for the first one's start
  std::vector<session_options> sessions(2, session_options{.shell_argv = {"/bin/sh"}});
  sessions[0].setup_commands = {"sleep 1"};
  fleet shells(std::move(sessions), 1);
  shells.begin_run("echo ran; sleep 30");
  shells.interrupt();  // before any command started
  while (shells.busy()) {
    pollfd ready{.fd = shells.descriptor(), .events = POLLIN, .revents = 0};
    ::poll(&ready, 1, 100);
    shells.step();
  }
  for (const auto& one : shells.take_results()) {
    EXPECT_EQ(one.outcome.out, "") << one.target << " did not run the command";
    EXPECT_THAT(one.outcome.error, HasSubstr("not run: interrupted")) << one.target;
  }
  EXPECT_EQ(shells.run("echo next")[1].outcome.out, "next\n") << "later commands run";
}

TEST_F(fleet_test, interrupt_stops_a_command_waiting_for_its_shells_restart) {
  fleet_options options;
  options.session.restart_on_death = true;
  fleet shells(std::vector<std::string>{"local"}, options);
  ASSERT_EQ(shells.run("exit 3")[0].error, errc::shell_exited);
  char pattern[] = "/tmp/tether-fleet-XXXXXX";
  const std::string dir = ::mkdtemp(pattern);
  shells.begin_run("touch " + dir + "/ran; echo ran");  // the shell is being started again
  shells.interrupt();
  while (shells.busy()) {
    pollfd ready{.fd = shells.descriptor(), .events = POLLIN, .revents = 0};
    ::poll(&ready, 1, 100);
    shells.step();
  }
  const auto results = shells.take_results();
  ASSERT_EQ(results.size(), 1U);
  EXPECT_EQ(results[0].outcome.exit_status, 130);
  EXPECT_EQ(results[0].outcome.out, "");
  EXPECT_TRUE(results[0].outcome.restarted);
  EXPECT_FALSE(std::filesystem::exists(dir + "/ran")) << "the interrupted command was sent";
  std::filesystem::remove_all(dir);
  EXPECT_EQ(shells.run("echo next")[0].outcome.out, "next\n");
}

TEST_F(fleet_test, a_callback_that_throws_on_the_last_line_leaves_the_fleet_usable) {
  fleet shells({"local", "local:bash"});
  fleet_run_options options;
  options.on_line = [](const target_line& line) {
    if (!line.text.ends_with('\n')) throw std::runtime_error("no newline");
  };
  EXPECT_THROW(shells.run("printf abc", options), std::runtime_error);
  EXPECT_FALSE(shells.busy());
  const auto after = shells.run("echo fine");
  ASSERT_EQ(after.size(), 2U);
  for (const auto& one : after) {
    // The throwing target's shell was fine; one still running at the throw was closed.
    EXPECT_TRUE(one.outcome.out == "fine\n" || one.error == errc::session_closed)
        << one.target << ": " << one.outcome.error;
  }
}

// Freezes the first target's connection on the server side mid-command (SIGSTOP to the sshd
// process serving it); the second target sleeps past its own timeout. The stuck target times
// out first (1 s); its interrupt cannot get through (given up at 3 s), so after the grace
// period (1.5 s) its session is restarted, which first sends a kill for its remote commands
// over the same stuck link (given up at 3.5 s). Were the interrupt or the kill waited for in
// the loop (3 s to 5 s), the second target's timeout (4 s) would be missed and its sleep would
// end by itself (4.5 s).
void check_stuck_link_holds_up_nobody(std::vector<session_options> sessions) {
  sessions[0].timeout = 1s;
  sessions[0].interrupt_grace = 0.5s;
  sessions[0].start_timeout = 2s;  // a native restart opens a channel on the stuck connection
  sessions[1].timeout = 4s;
  fleet both(std::move(sessions));
  // The sshd process that serves each session's connection.
  const auto servers = both.run("echo $PPID");
  ASSERT_TRUE(servers[0].ok() && servers[1].ok()) << servers[0].outcome.error;
  const int stuck_server = std::stoi(servers[0].outcome.out);
  const auto results =
      both.run("if [ $PPID = " + std::to_string(stuck_server) +
               " ]; then kill -STOP $PPID; sleep 30; else sleep 4.5; echo slept; fi");
  ::kill(stuck_server, SIGCONT);
  EXPECT_TRUE(results[1].outcome.timed_out) << results[1].outcome.out;
  EXPECT_EQ(results[1].outcome.exit_status, 130);
  EXPECT_EQ(results[1].outcome.out, "");
  // The stuck one's result: timed out, and its session restarted (over the ssh client: a new
  // connection) or not startable on the stuck link (native: the same connection).
  EXPECT_TRUE(results[0].outcome.timed_out);
  EXPECT_TRUE(results[0].outcome.restarted || results[0].error) << results[0].outcome.error;
}

TEST_F(fleet_test, a_stuck_ssh_link_does_not_hold_up_the_other_targets_timeouts) {
  const auto& server = shared_sshd();
  check_stuck_link_holds_up_nobody({openssh_to(server), openssh_to(server)});
}

// A native target's interrupt travels on a second channel of its connection: opened and
// waited for in steps of the loop, not in a blocking call.
TEST_F(fleet_test, a_stuck_native_link_does_not_hold_up_the_other_targets_timeouts) {
  const auto& server = shared_sshd();
  check_stuck_link_holds_up_nobody({native_to(server), native_to(server)});
}

// Eight native targets on one server time out at once: their interrupts' side channels are
// answered while the loop reads for the others (libssh takes in every packet on a connection
// it reads), and must go on from there, not wait for a re-interrupt (here at 2 s) to wake them.
TEST_F(fleet_test, native_interrupts_arrive_without_waiting_for_a_wake_up) {
  const auto& server = shared_sshd();
  std::vector<session_options> sessions;
  for (int i = 0; i < 8; ++i) {
    auto options = native_to(server);
    options.timeout = 0.2s;
    options.interrupt_grace = 4s;
    sessions.push_back(options);
  }
  session_options local;
  local.timeout = 10s;
  sessions.push_back(local);
  fleet mixed(std::move(sessions));
  mixed.open();
  for (int round = 0; round < 3; ++round) {
    const auto results = mixed.run(
        "if [ -n \"$SSH_CONNECTION\" ]; then sleep 5; else sleep 1.5; echo local-done; fi");
    const auto& local_result = results.back();
    ASSERT_EQ(local_result.outcome.out, "local-done\n");
    for (std::size_t i = 0; i + 1 < results.size(); ++i) {
      EXPECT_TRUE(results[i].outcome.timed_out) << results[i].target;
      EXPECT_EQ(results[i].outcome.exit_status, 130) << results[i].target;
      EXPECT_LT(results[i].finished_at, local_result.finished_at) << results[i].target;
    }
  }
}

// A target over the ssh client whose command ignores SIGINT: the interrupt's helper ssh (slowed
// down here) is still on its way when the grace period ends, so the kill's helper replaces it;
// the kill helper's pidfd may get the number the interrupt helper's had, and must still be
// waited on (a registration the kernel dropped with the old pidfd is no registration).
TEST_F(fleet_test, a_kill_that_replaces_a_slow_interrupt_is_still_waited_for) {
  const auto& server = shared_sshd();
  const std::string slow_ssh =
      std::filesystem::temp_directory_path() / ("tether-slow-ssh-" + std::to_string(::getpid()));
  {
    std::ofstream script(slow_ssh);
    script << "#!/bin/sh\ncase \"$*\" in *'kill -INT'*) sleep 0.8;; esac\nexec ssh \"$@\"\n";
  }
  std::filesystem::permissions(slow_ssh, std::filesystem::perms::owner_all);
  auto remote = openssh_to(server);
  remote.ssh.program = slow_ssh;
  remote.timeout = 0.2s;
  remote.interrupt_grace = 0.3s;
  session_options local;
  local.timeout = 10s;
  fleet both(std::vector<session_options>{remote, local});
  both.open();
  for (int round = 0; round < 3; ++round) {
    const auto results = both.run(
        "if [ -n \"$SSH_CONNECTION\" ]; then trap '' INT; sleep 10; else sleep 2.4; echo done; fi");
    ASSERT_EQ(results[1].outcome.out, "done\n");
    EXPECT_TRUE(results[0].outcome.timed_out);
    EXPECT_TRUE(results[0].outcome.restarted) << results[0].outcome.error;
    // Interrupted at 0.2 s, given up at 0.5 s; the kill arrives in milliseconds, then the
    // session reconnects (a new ssh connection: up to a second or so on a loaded machine).
    // Were the kill not watched, the stop would wait out its 2 s: done at 2.5 s at the soonest,
    // after the local target's 2.4 s.
    EXPECT_LT(results[0].finished_at, results[1].finished_at);
  }
  std::filesystem::remove(slow_ssh);
}

std::size_t threads_of_this_process() {
  std::size_t count = 0;
  for ([[maybe_unused]] const auto& entry :
       std::filesystem::directory_iterator("/proc/self/task")) {
    ++count;
  }
  return count;
}

// Native connects (TCP, key exchange, host key, login, channel) are steps of the one loop like
// everything else: no thread is started for them, and the user's callbacks run on the loop's.
TEST_F(fleet_test, native_targets_connect_on_the_loop_thread) {
  const private_sshd guard;
  const test_sshd& server = guard.server();
  // An encrypted key: its passphrase callback runs mid-login.
  const std::string key = server.dir + "/locked_key";
  ASSERT_EQ(std::system(("ssh-keygen -q -t ed25519 -N secret-words -f " + key).c_str()), 0);
  {
    std::ifstream public_key(key + ".pub");
    std::ofstream(server.dir + "/authorized_keys", std::ios::app) << public_key.rdbuf();
  }
  std::vector<session_options> sessions;
  std::vector<std::thread::id> callback_threads;
  for (int i = 0; i < 4; ++i) {
    auto options = native_to(server);
    options.native.identity_files = {key};
    options.native.passphrase = [&](std::string_view) {
      callback_threads.push_back(std::this_thread::get_id());
      return std::string("secret-words");
    };
    sessions.push_back(options);
  }
  const std::size_t before = threads_of_this_process();
  fleet natives(std::move(sessions));
  natives.begin_run("echo $SSH_CONNECTION");
  std::size_t most = before;
  while (natives.busy()) {
    pollfd ready{.fd = natives.descriptor(), .events = POLLIN, .revents = 0};
    ::poll(&ready, 1, 10);
    natives.step();
    most = std::max(most, threads_of_this_process());
  }
  for (const auto& one : natives.take_results()) {
    EXPECT_TRUE(one.ok()) << one.target << ": " << one.outcome.error;
    EXPECT_THAT(one.outcome.out, HasSubstr("127.0.0.1"));
  }
  EXPECT_EQ(most, before) << "a thread was started while connecting";
  EXPECT_EQ(callback_threads.size(), 4U);
  for (const auto& id : callback_threads) EXPECT_EQ(id, std::this_thread::get_id());
}

TEST_F(fleet_test, bad_targets_are_refused_with_their_name) {
  try {
    fleet bad(std::vector<std::string>{"local", "ftp://example.org"});
    FAIL() << "no error";
  } catch (const error& failure) {
    EXPECT_EQ(failure.code(), errc::invalid_argument);
    EXPECT_THAT(failure.what(), HasSubstr("'ftp://example.org'"));
  }
  const auto results = fleet(std::vector<std::string>{"local:/no/such/shell"}).run("true");
  // A shell command line runs through /bin/sh, which reports the missing program.
  EXPECT_EQ(results[0].error, errc::start_failed);
  EXPECT_THAT(results[0].outcome.error, HasSubstr("/no/such/shell: not found"));
  fleet_options missing;
  missing.session.shell_argv = {"/no/such/shell"};
  const auto spawned = fleet(std::vector<session_options>{missing.session}).run("true");
  EXPECT_EQ(spawned[0].error, errc::spawn_failed);
  EXPECT_THAT(spawned[0].outcome.error, HasSubstr("/no/such/shell"));
}

TEST_F(fleet_test, fifty_ssh_targets_over_three_servers_both_ways) {
  private_sshd second;
  private_sshd third;
  const test_sshd* servers[] = {&shared_sshd(), &second.server(), &third.server()};
  std::vector<session_options> sessions;
  for (int i = 0; i < 50; ++i) {
    const auto& server = *servers[i % 3];
    sessions.push_back(i % 2 == 0 ? openssh_to(server) : native_to(server));
  }
  fleet many(std::move(sessions), 16);
  const auto first = many.run("echo $SSH_CONNECTION");
  std::set<std::string> ports;
  for (const auto& one : first) {
    ASSERT_TRUE(one.ok()) << one.target << ": " << one.outcome.error;
    ports.insert(one.outcome.out.substr(one.outcome.out.rfind(' ') + 1));
  }
  EXPECT_EQ(ports.size(), 3U) << "all three servers answered";
  const auto second_run = many.run("uname -s");
  for (const auto& one : second_run) {
    EXPECT_EQ(one.outcome.out, "Linux\n") << one.target;
    EXPECT_FALSE(one.connected_at) << "warm: the sessions stayed open";
  }
}

}  // namespace
}  // namespace tether::test
