// The `tether run` command, run as a user would (through a shell, checking its output).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "helpers/hygiene_fixture.hpp"
#include "helpers/json_lines.hpp"
#include "helpers/test_sshd.hpp"
#include "tether/tether.hpp"

namespace tether::test {
namespace {

using ::testing::HasSubstr;

class cli : public hygiene_fixture {
 protected:
  result tether_cli(std::vector<std::string> args) {
    args.insert(args.begin(), TETHER_CLI_PATH);
    return runner_->run_argv(args);
  }

  void SetUp() override {
    hygiene_fixture::SetUp();
    runner_.emplace(session_options{.shell_argv = {"bash"}});  // PIPESTATUS in one test
  }
  session& runner() { return *runner_; }
  // A fresh directory, removed after the test.
  std::string scratch_directory() {
    char pattern[] = "/tmp/tether-cli-XXXXXX";
    scratch_ = ::mkdtemp(pattern);
    return scratch_;
  }
  void TearDown() override {
    runner_.reset();
    if (!scratch_.empty()) std::filesystem::remove_all(scratch_);
    hygiene_fixture::TearDown();
  }

 private:
  std::optional<session> runner_;
  std::string scratch_;
};

TEST_F(cli, commands_share_one_session) {
  const auto done = tether_cli({"run", "--", "cd /tmp", "pwd"});
  EXPECT_EQ(done.out, "/tmp\n");
  EXPECT_EQ(done.err, "");
  EXPECT_EQ(done.exit_status, 0);
}

TEST_F(cli, human_output_keeps_streams_apart_and_shows_failures) {
  const auto done = tether_cli({"run", "--", "echo out; echo err >&2; false", "echo more"});
  EXPECT_EQ(done.out, "out\nmore\n");
  EXPECT_EQ(done.err, "err\ntether: 'echo out; echo err >&2; false' exited with status 1\n");
  EXPECT_EQ(done.exit_status, 1);
}

TEST_F(cli, echo_prints_each_command) {
  const auto done = tether_cli({"run", "-x", "--", "echo hi"});
  EXPECT_EQ(done.out, "hi\n");
  EXPECT_EQ(done.err, "$ echo hi\n");
}

TEST_F(cli, exit_status_is_the_last_failing_commands) {
  EXPECT_EQ(tether_cli({"run", "--", "(exit 3)", "true", "(exit 4)", "true"}).exit_status, 4);
  EXPECT_EQ(tether_cli({"run", "--", "true", "true"}).exit_status, 0);
}

TEST_F(cli, json_has_one_object_per_command) {
  const auto done = tether_cli({"run", "--shell", "bash", "--json", "--", "cd /usr",
                                "pwd; echo e >&2; (exit 2)", "printf '\\377'"});
  const auto lines = json_lines(done.out);
  ASSERT_EQ(lines.size(), 3U);
  EXPECT_EQ(lines[1]["target"], "bash");
  EXPECT_EQ(lines[1]["command"], "pwd; echo e >&2; (exit 2)");
  EXPECT_EQ(lines[1]["stdout"], "/usr\n");
  EXPECT_EQ(lines[1]["stderr"], "e\n");
  EXPECT_EQ(lines[1]["exit_status"], 2);
  EXPECT_EQ(lines[1]["timed_out"], false);
  EXPECT_EQ(lines[1]["restarted"], false);
  EXPECT_TRUE(lines[1]["duration_s"].is_number_float());
  EXPECT_EQ(lines[2]["stdout_base64"], "/w==");
  EXPECT_FALSE(lines[2].contains("stdout"));
  EXPECT_EQ(done.exit_status, 2);
}

TEST_F(cli, timeout_is_reported_and_gives_124) {
  const auto done = tether_cli({"run", "--timeout", "0.2", "--json", "--", "sleep 30", "echo ok"});
  const auto lines = json_lines(done.out);
  ASSERT_EQ(lines.size(), 2U);
  EXPECT_EQ(lines[0]["timed_out"], true);
  EXPECT_EQ(lines[1]["stdout"], "ok\n");
  EXPECT_EQ(done.exit_status, 124);
}

TEST_F(cli, an_idle_timeout_without_a_timeout_is_named_as_such) {
  const auto done =
      tether_cli({"run", "--timeout", "0", "--idle-timeout", "0.3", "--", "sleep 30"});
  EXPECT_EQ(done.err, "tether: 'sleep 30' printed nothing for 0.3 s (--idle-timeout)\n");
  EXPECT_EQ(done.exit_status, 124);
}

TEST_F(cli, missing_shell_is_a_clear_error_with_125) {
  const auto done = tether_cli({"run", "--shell", "no-such-shell", "--", "true"});
  EXPECT_EQ(done.exit_status, 125);
  EXPECT_THAT(done.err, HasSubstr("tether: the shell 'no-such-shell' exited during start-up "
                                  "(exited with status 127)"));
  EXPECT_THAT(done.err, HasSubstr("not found"));
}

TEST_F(cli, shell_death_keeps_partial_output_and_gives_125) {
  const auto done = tether_cli({"run", "--json", "--", "echo before; exit 9", "echo never"});
  const auto lines = json_lines(done.out);
  ASSERT_EQ(lines.size(), 1U);
  EXPECT_EQ(lines[0]["stdout"], "before\n");
  EXPECT_EQ(lines[0]["error"],
            "the shell exited with status 9 while running 'echo before; exit 9'");
  EXPECT_EQ(done.exit_status, 125);
}

// The commands signal tether themselves ($PPID: the shell's parent is tether), so the signal
// comes while a command runs, never during start-up.
TEST_F(cli, ctrl_c_interrupts_the_command_shows_its_output_and_gives_130) {
  const std::string dir = scratch_directory();
  const auto done = tether_cli(
      {"run", "--json", "--",
       "echo before; kill -INT $PPID; sh -c 'echo $$ > " + dir + "/pid; exec sleep 30'; echo after",
       "touch " + dir + "/ran"});
  const auto lines = json_lines(done.out);
  ASSERT_EQ(lines.size(), 1U) << "later commands must not run";
  EXPECT_EQ(lines[0]["stdout"], "before\n");
  EXPECT_EQ(lines[0]["exit_status"], 130);
  EXPECT_EQ(lines[0]["timed_out"], false);
  EXPECT_EQ(done.exit_status, 130);
  EXPECT_FALSE(std::filesystem::exists(dir + "/ran"));
  // The interrupt may land before the sleeper starts (then the shell's trap ends the command
  // at once and there is no pid file); if it started, it must be gone.
  if (const auto pid = read_file(dir + "/pid"); !pid.empty()) {
    EXPECT_FALSE(process_still_running_after(std::stoi(pid), 10));
  }
}

TEST_F(cli, sigterm_interrupts_the_command_says_so_and_gives_143) {
  const auto done =
      tether_cli({"run", "--", "echo before; kill -TERM $PPID; sleep 30; echo after", "echo no"});
  EXPECT_EQ(done.out, "before\n");
  // Then tether ends by the signal: the shell running it says "Terminated" and gives 143.
  EXPECT_EQ(done.err,
            "tether: 'echo before; kill -TERM $PPID; sleep 30; echo after' was interrupted\n"
            "Terminated\n");
  EXPECT_EQ(done.exit_status, 143);
}

TEST_F(cli, a_signal_ignored_by_whoever_started_tether_stays_ignored) {
  // As under nohup: SIGHUP ignored before tether starts.
  const auto done = runner().run(std::string("trap '' HUP; ") + TETHER_CLI_PATH +
                                 " run -- 'kill -HUP $PPID; echo still here'");
  EXPECT_EQ(done.out, "still here\n");
  EXPECT_EQ(done.exit_status, 0);
  runner().run("trap - HUP");
}

TEST_F(cli, a_second_signal_kills_a_command_that_ignores_the_first) {
  const std::string dir = scratch_directory();
  // The command ignores SIGINT, so the first signal's interrupt would wait out the grace
  // period; the second ends tether at once, and the command's processes with it.
  const auto done = tether_cli({"run", "--",
                                "trap '' INT; echo before; kill -INT $PPID; "
                                "sh -c 'echo $$ > " +
                                    dir + "/pid; kill -TERM $1; exec sleep 30' sh $PPID",
                                "touch " + dir + "/ran"});
  EXPECT_EQ(done.out, "before\n");
  EXPECT_EQ(done.exit_status, 128 + SIGTERM);  // killed by SIGTERM, as bash reports it
  EXPECT_THAT(done.err, ::testing::Not(HasSubstr("was interrupted")));
  // Killing the shell shows what the command printed before, even what tether had not read yet.
  EXPECT_THAT(done.err, HasSubstr("tether: a second signal killed the command and its shell"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/ran"));
  EXPECT_FALSE(process_still_running_after(std::stoi(read_file(dir + "/pid")), 10))
      << "the command's process survived tether";
}

TEST_F(cli, a_third_signal_ends_tether_even_when_it_is_stuck_writing_its_output) {
  // tether's stdout is a fifo nobody reads: it blocks writing the output of `yes` and never
  // gets back to its loop. The second SIGTERM kills the command; the third must end tether.
  // (SIGTERM: a background job of a non-interactive shell starts with SIGINT ignored.)
  const std::string dir = scratch_directory();
  const std::string tether = tether::shell_quote(TETHER_CLI_PATH);
  const auto& done =
      runner().run("cd " + dir + " && mkfifo out && exec 5<>out || exit; " + tether +
                       " run -- \"trap '' INT TERM; echo \\$\\$ >pid; exec yes\" >out 2>err & "
                       "until [ -s pid ]; do sleep 0.05; done; sleep 0.3; "
                       "for i in 1 2 3; do kill -TERM $!; sleep 0.2; done; wait $!; echo $?; "
                       "exec 5<&-",
                   {.timeout = std::chrono::duration<double>(30)});
  EXPECT_FALSE(done.timed_out) << "tether did not end at the third signal";
  EXPECT_EQ(done.out, "143\n");
  EXPECT_FALSE(process_still_running_after(std::stoi(read_file(dir + "/pid")), 10))
      << "the command's process survived tether";
}

TEST_F(cli, bad_usage_is_a_clear_message_and_status_2) {
  const auto no_command = tether_cli({"run"});
  EXPECT_EQ(no_command.exit_status, 2);
  EXPECT_THAT(no_command.err, HasSubstr("commands is required"));
  const auto bad_timeout = tether_cli({"run", "--timeout", "soon", "--", "true"});
  EXPECT_EQ(bad_timeout.exit_status, 2);
  EXPECT_THAT(bad_timeout.err, HasSubstr("--timeout"));
  const auto unknown = tether_cli({"frobnicate"});
  EXPECT_EQ(unknown.exit_status, 2);
  const auto no_fanout = tether_cli({"run", "--fanout", "0", "-H", "local:sh", "--", "true"});
  EXPECT_EQ(no_fanout.exit_status, 2);
  EXPECT_THAT(no_fanout.err, HasSubstr("--fanout: must be more than 0, not 0"));
  const auto negative = tether_cli({"run", "--timeout", "-1", "--", "true"});
  EXPECT_EQ(negative.exit_status, 2);
  EXPECT_THAT(negative.err, HasSubstr("--timeout: must be 0 or more, not -1"));
}

TEST_F(cli, output_that_cannot_be_written_is_an_error_not_a_silent_loss) {
  const std::string tether = tether::shell_quote(TETHER_CLI_PATH);
  const auto& full = runner().run(tether + " run -- 'echo hi' >/dev/full");
  EXPECT_EQ(full.exit_status, 125);
  EXPECT_THAT(full.err, HasSubstr("tether: cannot write the output: No space left on device"));
  // A closed stdout: the descriptor must not become one of tether's own pipes meanwhile.
  const auto& closed = runner().run(tether + " run -- 'echo hi' 'echo more' >&-");
  EXPECT_EQ(closed.exit_status, 125);
  EXPECT_THAT(closed.err, HasSubstr("tether: cannot write the output: Bad file descriptor"));
  const auto& quiet = runner().run(tether + " run -- true >&-");
  EXPECT_EQ(quiet.exit_status, 0) << "nothing to write, nothing lost";
}

TEST_F(cli, help_lists_the_exit_statuses) {
  const auto done = tether_cli({"run", "--help"});
  EXPECT_EQ(done.exit_status, 0);
  EXPECT_THAT(done.out, HasSubstr("124 if it timed out"));
}

}  // namespace
}  // namespace tether::test

namespace tether::test {
namespace {

TEST_F(cli, target_runs_the_commands_in_one_ssh_session) {
  const auto done = tether_cli({"run", "--target", "ssh://tether-test", "--ssh-config",
                                shared_sshd().ssh_config(), "--json", "--", "cd /usr", "pwd"});
  const auto lines = json_lines(done.out);
  ASSERT_EQ(lines.size(), 2U) << done.err;
  EXPECT_EQ(lines[1]["target"], "ssh://tether-test");
  EXPECT_EQ(lines[1]["stdout"], "/usr\n");
  EXPECT_EQ(done.exit_status, 0);
}

TEST_F(cli, a_second_signal_over_ssh_leaves_no_remote_command_running) {
  // Over `--shell "ssh host"` the local group is the ssh client's: killing it would leave the
  // remote command running. A second signal waits, like the first, for the remote kill.
  const std::string dir = scratch_directory();
  const std::string tether = tether::shell_quote(TETHER_CLI_PATH);
  const std::string shell = "ssh -F " + shared_sshd().ssh_config() + " tether-test";
  const auto& done = runner().run(
      // The test sshd's user may not be ours: the remote command must be able to write here.
      "cd " + dir + " && chmod 777 . || exit; " + tether + " run --shell " +
          tether::shell_quote(shell) + " -- \"trap '' INT; echo \\$\\$ >" + dir +
          "/pid; exec sleep 30\" & " +
          "for i in $(seq 400); do [ -s pid ] && break; sleep 0.05; done; "
          "for i in 1 2; do kill -TERM $!; sleep 0.2; done; wait $!; echo $?",
      {.timeout = std::chrono::duration<double>(30)});
  EXPECT_FALSE(done.timed_out) << done.err;
  EXPECT_EQ(done.out, "143\n") << done.err;
  EXPECT_FALSE(process_still_running_after(std::stoi(read_file(dir + "/pid")), 10))
      << "the remote command survived tether";
}

TEST_F(cli, native_target_runs_the_commands_over_libssh) {
  const auto& server = shared_sshd();
  const auto done = tether_cli({"run", "-t", "ssh+native://tether-test", "-F", server.ssh_config(),
                                "-i", server.user_key(), "--known-hosts", server.known_hosts(),
                                "--json", "--", "cd /usr", "pwd"});
  const auto lines = json_lines(done.out);
  ASSERT_EQ(lines.size(), 2U) << done.err;
  EXPECT_EQ(lines[1]["target"], "ssh+native://tether-test");
  EXPECT_EQ(lines[1]["stdout"], "/usr\n");
}

TEST_F(cli, native_target_with_unknown_host_key_is_a_clear_error) {
  const auto& server = shared_sshd();
  const auto done =
      tether_cli({"run", "-t", "ssh+native://tether-test", "-F", server.ssh_config(), "-i",
                  server.user_key(), "--known-hosts", "/dev/null", "--", "true"});
  EXPECT_EQ(done.exit_status, 125);
  EXPECT_THAT(done.err, HasSubstr("is not in known_hosts"));
}

TEST_F(cli, unreachable_target_is_a_clear_error_with_125) {
  const auto done =
      tether_cli({"run", "-t", "ssh://tether-sh@127.0.0.1:1", "-o", "BatchMode=yes", "--", "true"});
  EXPECT_EQ(done.exit_status, 125);
  EXPECT_THAT(done.err, HasSubstr("Connection refused"));
}

TEST_F(cli, closed_stdout_stops_cleanly_with_141_and_leaves_nothing_running) {
  char pattern[] = "/tmp/tether-cli-XXXXXX";
  const std::string dir = ::mkdtemp(pattern);
  const auto done = runner().run(
      std::string(TETHER_CLI_PATH) + " run -- 'seq 1 200000' 'sh -c \"echo $$ > " + dir +
      "/pid; exec sleep 30\"' 'touch " + dir + "/ran' | head -c 4; echo \" ${PIPESTATUS[0]}\"");
  EXPECT_EQ(done.out, "1\n2\n 141\n");
  EXPECT_FALSE(std::filesystem::exists(dir + "/ran"));  // later commands did not run
  EXPECT_FALSE(std::filesystem::exists(dir + "/pid"));
  std::filesystem::remove_all(dir);
}

TEST_F(cli, target_and_shell_together_is_bad_usage) {
  const auto done = tether_cli({"run", "-t", "ssh://a", "--shell", "bash", "--", "true"});
  EXPECT_EQ(done.exit_status, 2);
  EXPECT_THAT(done.err, HasSubstr("excludes"));
}

}  // namespace
}  // namespace tether::test
