// What is particular to sessions over the OpenSSH client, against a real sshd on 127.0.0.1.
// (Everything a session does is also checked over SSH by the parameterised session suite.)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "helpers/hygiene_fixture.hpp"
#include "helpers/silent_listener.hpp"
#include "helpers/start_error.hpp"
#include "helpers/test_sshd.hpp"
#include "tether/tether.hpp"

namespace tether::test {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

class ssh : public hygiene_fixture {
 protected:
  // Options that name everything explicitly, without the test ssh_config: for host key and
  // authentication tests, which change one of them.
  session_options explicit_options(const std::string& key, const std::string& known_hosts) {
    const auto& server = shared_sshd();
    session_options options;
    options.target = "ssh://tether-sh@127.0.0.1:" + std::to_string(server.port);
    options.ssh.identity_file = key;
    options.ssh.options = {"UserKnownHostsFile=" + known_hosts, "GlobalKnownHostsFile=/dev/null",
                           "StrictHostKeyChecking=yes", "IdentitiesOnly=yes"};
    return options;
  }

  std::string write_temp(const std::string& text) {
    char pattern[] = "/tmp/tether-ssh-test-XXXXXX";
    const int fd = ::mkstemp(pattern);
    ::close(fd);
    std::ofstream(pattern) << text;
    temp_files_.push_back(pattern);
    return pattern;
  }

  void TearDown() override {
    for (const auto& path : temp_files_) std::filesystem::remove(path);
    hygiene_fixture::TearDown();
  }

 private:
  std::vector<std::string> temp_files_;
};

TEST_F(ssh, explicit_target_runs_commands_with_exact_streams) {
  const auto& server = shared_sshd();
  session shell(explicit_options(server.user_key(), server.known_hosts()));
  const auto& done = shell.run("cd /tmp; pwd; echo err >&2; (exit 4)");
  EXPECT_EQ(done.out, "/tmp\n");
  EXPECT_EQ(done.err, "err\n");
  EXPECT_EQ(done.exit_status, 4);
  EXPECT_EQ(done.target, "ssh://tether-sh@127.0.0.1:" + std::to_string(server.port));
  EXPECT_EQ(shell.run("id -un; pwd").out, "tether-sh\n/tmp\n");
}

TEST_F(ssh, connection_refused_is_a_clear_error) {
  auto options = explicit_options(shared_sshd().user_key(), shared_sshd().known_hosts());
  options.target = "ssh://tether-sh@127.0.0.1:1";
  const auto failure = start_error(options);
  EXPECT_EQ(failure.code(), errc::start_failed);
  EXPECT_THAT(failure.what(), HasSubstr("the shell 'ssh://tether-sh@127.0.0.1:1' exited during "
                                        "start-up (ended: ssh exited with status 255"));
  EXPECT_THAT(failure.what(), HasSubstr("connect to host 127.0.0.1 port 1: Connection refused"));
}

TEST_F(ssh, unknown_host_key_is_refused_with_strict_checking) {
  const auto failure = start_error(explicit_options(shared_sshd().user_key(), write_temp("")));
  EXPECT_EQ(failure.code(), errc::start_failed);
  EXPECT_THAT(failure.what(), HasSubstr("Host key verification failed."));
}

TEST_F(ssh, changed_host_key_is_refused_and_named) {
  const auto& server = shared_sshd();
  // known_hosts claims another key (the unauthorised user key) for this host and port.
  const std::string other = read_file(server.dir + "/other_key.pub");
  const std::string wrong =
      "[127.0.0.1]:" + std::to_string(server.port) + " " + other.substr(0, other.rfind(' ')) + "\n";
  const auto failure = start_error(explicit_options(server.user_key(), write_temp(wrong)));
  EXPECT_EQ(failure.code(), errc::start_failed);
  EXPECT_THAT(failure.what(), HasSubstr("REMOTE HOST IDENTIFICATION HAS CHANGED"));
  EXPECT_THAT(failure.what(), HasSubstr("SHA256:"));  // the fingerprint the server offered
  EXPECT_THAT(failure.what(), HasSubstr("Host key verification failed."));
}

TEST_F(ssh, refused_key_is_a_clear_error_not_a_password_prompt) {
  const auto& server = shared_sshd();
  const auto failure = start_error(explicit_options(server.other_key(), server.known_hosts()));
  EXPECT_EQ(failure.code(), errc::start_failed);
  EXPECT_THAT(failure.what(), HasSubstr("Permission denied (publickey"));
}

TEST_F(ssh, silent_peer_hits_the_connect_timeout_instead_of_hanging) {
  // A listener that completes TCP handshakes (the kernel does, from the backlog) but never
  // says a word, as a wedged server does.
  const silent_listener listener;
  auto options = explicit_options(shared_sshd().user_key(), shared_sshd().known_hosts());
  options.target = "ssh://tether-sh@127.0.0.1:" + std::to_string(listener.port());
  options.ssh.connect_timeout = 1s;
  const auto failure = start_error(options);
  EXPECT_EQ(failure.code(), errc::start_failed);
  EXPECT_THAT(failure.what(), HasSubstr("Connection timed out during banner exchange"));
}

TEST_F(ssh, sshd_killed_mid_command_is_a_clear_error_with_partial_output) {
  const private_sshd guard;
  const test_sshd& server = guard.server();
  session shell({.target = "ssh://tether-test", .ssh = {.config_file = server.ssh_config()}});
  std::thread killer([&] {
    std::this_thread::sleep_for(1s);
    stop_sshd(server);
  });
  std::error_code ec;
  const auto& done = shell.run("echo started; sleep 30; echo never", {}, ec);
  killer.join();
  EXPECT_EQ(ec, errc::shell_exited);
  EXPECT_EQ(done.out, "started\n");
  EXPECT_THAT(done.error, HasSubstr("ssh exited with status 255 (the connection failed or was "
                                    "lost, or the remote shell was killed) while running "
                                    "'echo started; sleep 30; echo never'"));
  try {
    shell.run("true");
    ADD_FAILURE() << "no error";
  } catch (const error& again) {
    EXPECT_EQ(again.code(), errc::session_closed);
  }
}

TEST_F(ssh, reconnect_replays_setup_commands_after_the_link_drops) {
  session shell({.target = "ssh://tether-test",
                 .ssh = {.config_file = shared_sshd().ssh_config()},
                 .restart_on_death = true,
                 .setup_commands = {"cd /usr", "export MARK=restored"}});
  EXPECT_EQ(shell.run("pwd").out, "/usr\n");
  ::kill(shell.shell_pid(), SIGKILL);  // the local ssh: the link is gone
  std::error_code ec;
  shell.run("true", {}, ec);
  EXPECT_EQ(ec, errc::shell_exited);
  const auto& done = shell.run("pwd; echo $MARK");
  EXPECT_TRUE(done.restarted);
  EXPECT_EQ(done.out, "/usr\nrestored\n");
}

TEST_F(ssh, ipc_session_style_command_line_is_an_ssh_session) {
  session shell("ssh -F " + shared_sshd().ssh_config() + " tether-test", seconds{60});
  shell.run("cd /usr; X=kept");
  // The interrupt must reach the remote command, not kill the local ssh.
  const auto& slow = shell.run("sleep 30", {.timeout = seconds{0.5}});
  EXPECT_TRUE(slow.timed_out);
  EXPECT_FALSE(slow.restarted);
  EXPECT_EQ(shell.run("echo $X; pwd").out, "kept\n/usr\n");
}

TEST_F(ssh, bad_target_is_an_invalid_argument) {
  const auto failure = start_error({.target = "ssh://-oProxyCommand=evil"});
  EXPECT_EQ(failure.code(), errc::invalid_argument);
  EXPECT_THAT(failure.what(), HasSubstr("bad target 'ssh://-oProxyCommand=evil'"));
}

}  // namespace
}  // namespace tether::test

namespace tether::test {
namespace {

TEST_F(ssh, big_outputs_on_both_streams_at_once) {
  session shell(
      {.target = "ssh://tether-test", .ssh = {.config_file = shared_sshd().ssh_config()}});
  const auto& done = shell.run(
      "head -c 52428800 /dev/zero | tr '\\0' e >&2 & head -c 52428800 /dev/zero | tr '\\0' o; "
      "wait");
  EXPECT_EQ(done.out.size(), 50U << 20);
  EXPECT_EQ(done.err.size(), 50U << 20);
  EXPECT_EQ(done.out.find_first_not_of('o'), std::string::npos);
  EXPECT_EQ(done.err.find_first_not_of('e'), std::string::npos);
  EXPECT_EQ(done.exit_status, 0);
  std::size_t streamed = 0;
  run_options options;
  options.on_output = [&](output_stream, std::string_view bytes) { streamed += bytes.size(); };
  EXPECT_EQ(shell.run("head -c 104857600 /dev/zero", options).exit_status, 0);
  EXPECT_EQ(streamed, 100U << 20);
}

}  // namespace
}  // namespace tether::test
