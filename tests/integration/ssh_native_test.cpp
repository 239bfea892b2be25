// Native SSH (libssh): connection set-up, authentication, host keys, exec channels, and many
// channels on one connection, against a real sshd on 127.0.0.1. (Everything a session does is
// also checked over libssh by the parameterised session suite.)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <thread>

#include "helpers/hygiene_fixture.hpp"
#include "helpers/silent_listener.hpp"
#include "helpers/test_sshd.hpp"
#include "tether/tether.hpp"

namespace tether::test {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

ssh::connect_options key_login(const test_sshd& server) {
  ssh::connect_options options;
  options.config_file = server.ssh_config();
  options.known_hosts_file = server.known_hosts();
  options.identity_files = {server.user_key()};
  options.use_agent = false;
  return options;
}

// Everything explicit, without the test ssh_config.
ssh::connect_options explicit_login(const test_sshd& server) {
  ssh::connect_options options = key_login(server);
  options.config_file = "none";
  options.user = "tether-sh";
  options.port = server.port;
  return options;
}

error connect_error(const std::string& host, const ssh::connect_options& options) {
  try {
    ssh::connection connection(host, options);
  } catch (const error& failure) {
    return failure;
  }
  ADD_FAILURE() << "connected";
  return error(errc::invalid_argument, "connected");
}

class ssh_native : public hygiene_fixture {
 protected:
  std::string temp_dir() {
    if (dir_.empty()) {
      char pattern[] = "/tmp/tether-native-XXXXXX";
      dir_ = ::mkdtemp(pattern);
    }
    return dir_;
  }
  void TearDown() override {
    std::error_code ignored;  // a file that another process removes meanwhile is fine
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
    hygiene_fixture::TearDown();
  }

 private:
  std::string dir_;
};

TEST_F(ssh_native, exec_returns_streams_and_status) {
  ssh::connection connection("tether-test", key_login(shared_sshd()));
  const auto done = connection.exec("echo out; echo err >&2; exit 3");
  EXPECT_EQ(done.out, "out\n");
  EXPECT_EQ(done.err, "err\n");
  EXPECT_EQ(done.exit_status, 3);
  EXPECT_EQ(done.exit_signal, "");
  EXPECT_EQ(done.target, "ssh+native://tether-test");
}

TEST_F(ssh_native, exec_reports_the_signal_that_killed_the_command) {
  ssh::connection connection("tether-test", key_login(shared_sshd()));
  const auto done = connection.exec("echo before; kill -KILL $$");
  EXPECT_EQ(done.out, "before\n");
  EXPECT_EQ(done.exit_signal, "KILL");
  EXPECT_FALSE(done.exit_status.has_value());  // "no exit status" is not 0
}

TEST_F(ssh_native, exec_with_stdin_env_and_pty) {
  ssh::connection connection("tether-test", key_login(shared_sshd()));
  const std::string data("line\n\0binary\xff", 13);
  EXPECT_EQ(connection.exec("cat", {.stdin_data = data}).out, data);
  EXPECT_EQ(connection.exec("echo \"$TETHER_GREETING\"", {.env = {{"TETHER_GREETING", "hi"}}}).out,
            "hi\n");
  const auto on_pty = connection.exec("tty; echo \"$TERM\"", {.pty_terminal = "xterm"});
  EXPECT_THAT(on_pty.out, HasSubstr("/dev/pts/"));
  EXPECT_THAT(on_pty.out, HasSubstr("xterm"));
}

TEST_F(ssh_native, setenv_refused_by_the_server_is_a_clear_error) {
  const private_sshd guard(/*accept_env=*/false);
  const test_sshd& server = guard.server();
  ssh::connection connection("tether-test", key_login(server));
  try {
    connection.exec("true", {.env = {{"TETHER_X", "1"}}});
    ADD_FAILURE() << "no error";
  } catch (const error& failure) {
    EXPECT_EQ(failure.code(), errc::invalid_argument);
    EXPECT_THAT(failure.what(), HasSubstr("the server refused to set the environment variable "
                                          "TETHER_X (sshd accepts only the names its AcceptEnv "
                                          "lists)"));
  }
}

TEST_F(ssh_native, many_sessions_and_execs_share_one_tcp_connection) {
  ssh::connection connection("tether-test", key_login(shared_sshd()));
  std::vector<session> shells;
  for (int i = 0; i < 10; ++i) shells.emplace_back(connection);
  std::set<std::string> clients;
  std::set<std::string> shell_pids;
  for (auto& shell : shells) {
    // SSH_CLIENT names the client's address and source port: one port, one connection.
    clients.insert(shell.run("echo \"${SSH_CLIENT% *}\"").out);
    shell_pids.insert(shell.run("echo $$").out);
    clients.insert(connection.exec("echo \"${SSH_CLIENT% *}\"").out);
  }
  EXPECT_EQ(clients.size(), 1U);
  EXPECT_EQ(shell_pids.size(), 10U);
  // Sessions keep their own state side by side.
  shells[0].run("cd /usr");
  shells[1].run("cd /tmp");
  EXPECT_EQ(shells[0].run("pwd").out, "/usr\n");
  EXPECT_EQ(shells[1].run("pwd").out, "/tmp\n");
}

std::size_t lines_with(const std::string& path, const std::string& text) {
  std::ifstream file(path);
  std::size_t count = 0;
  for (std::string line; std::getline(file, line);) count += line.find(text) != std::string::npos;
  return count;
}

// Settings put before a running server's others (sshd keeps the first value it reads), which
// it then re-reads (SIGHUP); logging at INFO for the "Server listening" that says it has.
void reconfigure(const test_sshd& server, const std::string& settings) {
  const std::string config = server.dir + "/sshd_config";
  std::string text;
  {
    std::ifstream in(config);
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  std::ofstream(config) << "LogLevel INFO\n" << settings << "\n" << text;
  const std::string log = server.dir + "/sshd.log";
  const std::size_t listening = lines_with(log, "Server listening");
  std::ifstream pid_file(server.dir + "/sshd.pid");
  int pid = 0;
  pid_file >> pid;
  ASSERT_GT(pid, 0);
  ASSERT_EQ(::kill(pid, SIGHUP), 0);
  for (int i = 0; i < 400 && lines_with(log, "Server listening") == listening; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_GT(lines_with(log, "Server listening"), listening) << "sshd did not restart";
}

// The server refuses the interrupt's side channel (MaxSessions): the timed-out session is dealt
// with on its own, and the other session on the same connection must not notice (a close sent
// for a channel that never opened would name the server's channel 0: the first session's).
TEST_F(ssh_native, a_refused_interrupt_channel_leaves_other_sessions_alone) {
  const private_sshd guard;
  const test_sshd& server = guard.server();
  reconfigure(server, "MaxSessions 2");
  ssh::connection connection("tether-test", key_login(server));
  session first(connection);
  session second(connection);
  EXPECT_EQ(first.run("echo alive").out, "alive\n");
  run_options quick;
  quick.timeout = 0.3s;
  // The interrupt cannot get through, so the session is killed and started again, which the
  // full server may refuse too: a result or an error, either is fair here.
  try {
    EXPECT_TRUE(second.run("sleep 3", quick).timed_out);
  } catch (const error& failure) {
    EXPECT_TRUE(failure.partial().timed_out) << failure.what();
  }
  EXPECT_EQ(first.run("echo still-alive").out, "still-alive\n");
}

TEST_F(ssh_native, connection_refused_is_a_clear_error) {
  auto options = explicit_login(shared_sshd());
  options.port = 1;
  const auto failure = connect_error("127.0.0.1", options);
  EXPECT_EQ(failure.code(), errc::connect_failed);
  EXPECT_THAT(failure.what(), HasSubstr("cannot connect to tether-sh@127.0.0.1:1: "));
  EXPECT_THAT(failure.what(), HasSubstr("Connection refused"));
}

TEST_F(ssh_native, unknown_host_key_is_refused_with_its_fingerprint) {
  auto options = explicit_login(shared_sshd());
  options.known_hosts_file = temp_dir() + "/known_hosts";
  std::ofstream(options.known_hosts_file).close();
  const auto failure = connect_error("127.0.0.1", options);
  EXPECT_EQ(failure.code(), errc::host_key_rejected);
  EXPECT_THAT(failure.what(), HasSubstr("the host key of tether-sh@127.0.0.1:" +
                                        std::to_string(shared_sshd().port) + " (SHA256:"));
  EXPECT_THAT(failure.what(), HasSubstr("is not in known_hosts"));
}

TEST_F(ssh_native, accept_new_adds_an_unknown_host_and_then_checks_it) {
  auto options = explicit_login(shared_sshd());
  options.known_hosts_file = temp_dir() + "/known_hosts";
  std::ofstream(options.known_hosts_file).close();
  options.host_keys = ssh::host_key_policy::accept_new;
  { ssh::connection first("127.0.0.1", options); }
  options.host_keys = ssh::host_key_policy::strict;
  ssh::connection again("127.0.0.1", options);
  EXPECT_EQ(again.exec("echo ok").out, "ok\n");
}

TEST_F(ssh_native, changed_host_key_is_refused_naming_both_fingerprints) {
  const auto& server = shared_sshd();
  auto options = explicit_login(server);
  const std::string other = read_file(server.dir + "/other_key.pub");
  options.known_hosts_file = temp_dir() + "/known_hosts";
  std::ofstream(options.known_hosts_file)
      << "[127.0.0.1]:" << server.port << " " << other.substr(0, other.rfind(' ')) << "\n";
  options.host_keys = ssh::host_key_policy::accept_new;  // a changed key is refused even so
  const auto failure = connect_error("127.0.0.1", options);
  EXPECT_EQ(failure.code(), errc::host_key_rejected);
  const std::string text = failure.what();
  EXPECT_THAT(text, HasSubstr("has changed: known_hosts has SHA256:"));
  EXPECT_THAT(text, HasSubstr(", the server offered SHA256:"));
  EXPECT_NE(text.find("SHA256:"), text.rfind("SHA256:"));  // two fingerprints
}

TEST_F(ssh_native, wrong_key_is_an_auth_error_naming_what_was_tried) {
  auto options = explicit_login(shared_sshd());
  options.identity_files = {shared_sshd().other_key()};
  const auto failure = connect_error("127.0.0.1", options);
  EXPECT_EQ(failure.code(), errc::auth_failed);
  EXPECT_THAT(failure.what(), HasSubstr("cannot log in to tether-sh@127.0.0.1:"));
  EXPECT_THAT(failure.what(), HasSubstr("key " + shared_sshd().other_key() + " (refused)"));
}

TEST_F(ssh_native, password_login_and_wrong_password) {
  auto options = explicit_login(shared_sshd());
  options.identity_files = {};
  options.password = test_password;
  ssh::connection connection("127.0.0.1", options);
  EXPECT_EQ(connection.exec("id -un").out, "tether-sh\n");
  options.password = "not-the-password";
  const auto failure = connect_error("127.0.0.1", options);
  EXPECT_EQ(failure.code(), errc::auth_failed);
  EXPECT_THAT(failure.what(), HasSubstr("password (refused)"));
}

TEST_F(ssh_native, encrypted_key_is_opened_with_the_passphrase_callback) {
  const private_sshd guard;
  const test_sshd& server = guard.server();
  const std::string key = temp_dir() + "/locked_key";
  ASSERT_EQ(std::system(("ssh-keygen -q -t ed25519 -N secret-words -f " + key).c_str()), 0);
  std::ofstream(server.dir + "/authorized_keys", std::ios::app) << read_file(key + ".pub");
  auto options = key_login(server);
  options.identity_files = {key};
  std::string asked;
  options.passphrase = [&](std::string_view file) {
    asked = file;
    return std::string("secret-words");
  };
  ssh::connection connection("tether-test", options);
  EXPECT_EQ(asked, key);
  EXPECT_EQ(connection.exec("echo in").out, "in\n");
  options.passphrase = [](std::string_view) { return std::string("wrong"); };
  const auto failure = connect_error("tether-test", options);
  EXPECT_EQ(failure.code(), errc::auth_failed);
  EXPECT_THAT(failure.what(), HasSubstr("cannot be read"));
}

TEST_F(ssh_native, silent_peer_hits_the_connect_timeout) {
  const silent_listener listener;
  auto options = explicit_login(shared_sshd());
  options.port = listener.port();
  options.connect_timeout = 1s;
  const auto failure = connect_error("127.0.0.1", options);
  EXPECT_EQ(failure.code(), errc::connect_failed);
  EXPECT_THAT(failure.what(), HasSubstr("cannot connect to tether-sh@127.0.0.1:"));
}

TEST_F(ssh_native, sshd_killed_mid_command_is_a_clear_error_with_partial_output) {
  const private_sshd guard;
  const test_sshd& server = guard.server();
  ssh::connection connection("tether-test", key_login(server));
  session shell(connection);
  std::thread killer([&] {
    std::this_thread::sleep_for(1s);
    stop_sshd(server);
  });
  std::error_code ec;
  const auto& done = shell.run("echo started; sleep 30; echo never", {}, ec);
  killer.join();
  EXPECT_EQ(ec, errc::shell_exited);
  EXPECT_EQ(done.out, "started\n");
  EXPECT_THAT(done.error, HasSubstr("the shell lost its connection"));
}

bool process_running(const std::string& pattern) {
  return std::system(("pgrep -f '" + pattern + "' >/dev/null").c_str()) == 0;
}

// The link freezes mid-command (the sshd process serving it is stopped): the interrupt and then
// the kill that comes before the restart cannot get through, and are given up. When the link
// thaws, the kill still reaches the command; the interrupt, which could hit a later command, is
// dropped instead.
TEST_F(ssh_native, a_kill_given_up_on_a_frozen_link_still_arrives_when_it_thaws) {
  const auto& server = shared_sshd();
  session_options options;
  options.target = "ssh+native://tether-test";
  options.native = key_login(server);
  options.timeout = 1s;
  options.interrupt_grace = 0.5s;
  session shell(options);
  const pid_t server_side = std::stoi(shell.run("echo $PPID").out);
  // A command of this test's own: no other run's leftover can be taken for it.
  const std::string command = "sleep 317." + std::to_string(::getpid());
  // Thaw once the kill has been given up (1 s timeout + 0.5 s grace + 2 s for the kill).
  std::thread thaw([server_side] {
    std::this_thread::sleep_for(4s);
    ::kill(server_side, SIGCONT);
  });
  std::error_code ec;
  const auto& frozen = shell.run("kill -STOP $PPID; " + command, {}, ec);
  thaw.join();
  EXPECT_TRUE(frozen.timed_out) << frozen.error;
  EXPECT_TRUE(frozen.restarted) << frozen.error;
  // The restarted shell is on the same connection; its reads take the kill's last steps.
  for (int i = 0; i < 50 && process_running("^" + command + "$"); ++i) {
    shell.run("true");
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_FALSE(process_running("^" + command + "$")) << "the command outlived its session";
  EXPECT_EQ(shell.run("echo fine").out, "fine\n");
}

TEST_F(ssh_native, dropped_connection_reconnects_and_replays_setup) {
  const auto& server = shared_sshd();
  session_options options;
  options.target = "ssh+native://tether-test";
  options.native = key_login(server);
  options.restart_on_death = true;
  options.setup_commands = {"cd /usr", "export MARK=restored"};
  session shell(options);
  // The shell's parent is the sshd process serving this connection: kill it, the link drops.
  const pid_t server_side = std::stoi(shell.run("echo $PPID").out);
  ASSERT_EQ(::kill(server_side, SIGKILL), 0);
  std::error_code ec;
  shell.run("true", {}, ec);
  EXPECT_EQ(ec, errc::shell_exited);
  const auto& done = shell.run("pwd; echo $MARK");
  EXPECT_TRUE(done.restarted);
  EXPECT_EQ(done.out, "/usr\nrestored\n");
}

}  // namespace
}  // namespace tether::test

namespace tether::test {
namespace {

// Read a channel until its end of file, waiting on its readiness descriptor like an event loop.
std::pair<std::string, std::string> read_to_eof(ssh::channel& remote) {
  std::string out;
  std::string err;
  const auto until = std::chrono::steady_clock::now() + 30s;
  while (!remote.eof() && std::chrono::steady_clock::now() < until) {
    pollfd socket{remote.readiness_fd(), POLLIN, 0};
    ::poll(&socket, 1, 50);
    out += remote.read();
    err += remote.read_stderr();
  }
  out += remote.read();
  err += remote.read_stderr();
  return {out, err};
}

TEST_F(ssh_native, low_level_channel_exec_with_writes_and_eof) {
  ssh::connection connection("tether-test", key_login(shared_sshd()));
  ssh::channel remote(connection);
  remote.setenv("TETHER_MODE", "low-level");
  remote.exec("cat; echo \"$TETHER_MODE\" >&2; exit 4");
  EXPECT_EQ(remote.read(), "");  // never blocks: nothing has come yet
  remote.write("first ");
  remote.write("second");
  remote.send_eof();
  const auto [out, err] = read_to_eof(remote);
  EXPECT_EQ(out, "first second");
  EXPECT_EQ(err, "low-level\n");
  EXPECT_TRUE(remote.wait_closed(10s));
  EXPECT_EQ(remote.exit_status(), 4);
  EXPECT_EQ(remote.exit_signal(), "");
}

TEST_F(ssh_native, low_level_channel_reports_exit_signal) {
  ssh::connection connection("tether-test", key_login(shared_sshd()));
  ssh::channel remote(connection);
  remote.exec("kill -TERM $$");
  read_to_eof(remote);
  EXPECT_TRUE(remote.wait_closed(10s));
  EXPECT_EQ(remote.exit_signal(), "TERM");
  EXPECT_FALSE(remote.exit_status().has_value());
}

TEST_F(ssh_native, low_level_channel_subsystem_request) {
  ssh::connection connection("tether-test", key_login(shared_sshd()));
  ssh::channel sftp(connection);
  sftp.subsystem("sftp");  // accepted: the test sshd has the internal sftp server
  ssh::channel unknown(connection);
  try {
    unknown.subsystem("no-such-subsystem");
    ADD_FAILURE() << "no error";
  } catch (const error& failure) {
    EXPECT_EQ(failure.code(), errc::io_failed);
    EXPECT_THAT(failure.what(), HasSubstr("the subsystem 'no-such-subsystem' was refused"));
  }
}

TEST_F(ssh_native, low_level_channel_pty_and_shell) {
  ssh::connection connection("tether-test", key_login(shared_sshd()));
  ssh::channel terminal(connection);
  terminal.request_pty("vt100", 100, 30);
  terminal.shell();
  terminal.write("stty size; tty; exit 0\n");
  const auto [out, err] = read_to_eof(terminal);
  EXPECT_THAT(out, HasSubstr("30 100"));
  EXPECT_THAT(out, HasSubstr("/dev/pts/"));
}

}  // namespace
}  // namespace tether::test

namespace tether::test {
namespace {

TEST_F(ssh_native, keyboard_interactive_answers_the_servers_prompts) {
  const private_sshd guard(/*accept_env=*/true, /*pam=*/true);
  const test_sshd& server = guard.server();
  auto options = key_login(server);
  options.identity_files = {server.other_key()};  // refused, so the dialogue is reached
  std::vector<std::string> seen;
  options.keyboard_interactive = [&](std::string_view, std::string_view,
                                     const std::vector<ssh::keyboard_interactive_prompt>& asked) {
    std::vector<std::string> answers;
    for (const auto& prompt : asked) {
      seen.push_back(prompt.text);
      answers.emplace_back(test_password);
    }
    return answers;
  };
  ssh::connection connection("tether-test", options);
  EXPECT_EQ(connection.exec("id -un").out, "tether-sh\n");
  ASSERT_FALSE(seen.empty());
  EXPECT_THAT(seen.front(), HasSubstr("assword"));
  options.keyboard_interactive = [](std::string_view, std::string_view,
                                    const std::vector<ssh::keyboard_interactive_prompt>& asked) {
    return std::vector<std::string>(asked.size(), "wrong");
  };
  const auto failure = connect_error("tether-test", options);
  EXPECT_EQ(failure.code(), errc::auth_failed);
  EXPECT_THAT(failure.what(), HasSubstr("keyboard-interactive (refused)"));
}

}  // namespace
}  // namespace tether::test

namespace tether::test {
namespace {

TEST_F(ssh_native, ssh_config_gives_host_user_port_and_identity) {
  ssh::connect_options options;
  options.config_file = shared_sshd().ssh_config();  // HostName, Port, User, IdentityFile
  options.known_hosts_file = shared_sshd().known_hosts();
  options.use_agent = false;
  ssh::connection connection("tether-test", options);
  EXPECT_EQ(connection.exec("id -un").out, "tether-sh\n");
}

}  // namespace
}  // namespace tether::test

namespace tether::test {
namespace {

TEST_F(ssh_native, agent_keys_log_in) {
  // A real ssh-agent holding the user key; no key file is named and no config is read, so only
  // the agent can log us in.
  const std::string socket = temp_dir() + "/agent.sock";
  const std::string pid_file = temp_dir() + "/agent.pid";
  ASSERT_EQ(std::system(("ssh-agent -a " + socket +
                         " | sed -n 's/^SSH_AGENT_PID=\\([0-9]*\\).*/\\1/p' > " + pid_file +
                         " && SSH_AUTH_SOCK=" + socket + " ssh-add -q " + shared_sshd().user_key() +
                         " 2>/dev/null")
                            .c_str()),
            0);
  const char* previous = std::getenv("SSH_AUTH_SOCK");
  const std::string saved = previous != nullptr ? previous : "";
  ::setenv("SSH_AUTH_SOCK", socket.c_str(), 1);
  auto options = explicit_login(shared_sshd());
  options.identity_files = {};
  options.use_agent = true;
  {
    ssh::connection connection("127.0.0.1", options);
    EXPECT_EQ(connection.exec("id -un").out, "tether-sh\n");
  }
  options.use_agent = false;  // and without it, the same login fails
  EXPECT_EQ(connect_error("127.0.0.1", options).code(), errc::auth_failed);
  if (saved.empty()) {
    ::unsetenv("SSH_AUTH_SOCK");
  } else {
    ::setenv("SSH_AUTH_SOCK", saved.c_str(), 1);
  }
  // The agent removes its socket as it exits: wait for that before the directory goes.
  const int agent = std::stoi(read_file(pid_file));
  ::kill(agent, SIGTERM);
  for (int i = 0; i < 100 && ::kill(agent, 0) == 0; ++i) ::usleep(50 * 1000);
}

TEST_F(ssh_native, host_key_policy_off_skips_the_check) {
  auto options = explicit_login(shared_sshd());
  options.known_hosts_file = "/dev/null";
  options.host_keys = ssh::host_key_policy::off;
  ssh::connection connection("127.0.0.1", options);
  EXPECT_EQ(connection.exec("echo unchecked").out, "unchecked\n");
}

}  // namespace
}  // namespace tether::test

namespace tether::test {
namespace {

// A test host of our own: an sshd in a network namespace behind a veth pair, whose link can be
// taken down to make the peer vanish without a word (no FIN, no RST), as a dead host does.
class namespaced_sshd {
 public:
  explicit namespaced_sshd(const test_sshd& keys) {
    const std::string id = std::to_string(::getpid() % 100000);
    ns_ = "tether-dead-" + id;
    host_link_ = "tdh" + id;
    pid_file_ = keys.dir + "/netns-" + id + ".pid";
    const std::string setup =
        "ip netns add " + ns_ + " && ip link add " + host_link_ + " type veth peer name tdp" + id +
        " && ip link set tdp" + id + " netns " + ns_ + " && ip addr add " + host_ip + "/30 dev " +
        host_link_ + " && ip link set " + host_link_ + " up && ip netns exec " + ns_ +
        " ip addr add " + peer_ip + "/30 dev tdp" + id + " && ip netns exec " + ns_ +
        " ip link set tdp" + id + " up && ip netns exec " + ns_ + " ip link set lo up && " +
        "ip netns exec " + ns_ + " /usr/sbin/sshd -f " + keys.dir +
        "/sshd_config -o ListenAddress=" + peer_ip + " -o PidFile=" + pid_file_ + " -E " +
        keys.dir + "/netns-sshd.log";
    ok_ = std::system(setup.c_str()) == 0;
    for (int i = 0; ok_ && i < 100 && read_file(pid_file_).empty(); ++i) ::usleep(20 * 1000);
  }
  ~namespaced_sshd() {
    const std::string pid = read_file(pid_file_);
    if (!pid.empty()) ::kill(std::stoi(pid), SIGKILL);
    std::system(("ip netns pids " + ns_ + " 2>/dev/null | xargs -r kill -KILL; ip link del " +
                 host_link_ + " 2>/dev/null; ip netns del " + ns_ + " 2>/dev/null; rm -f " +
                 pid_file_)
                    .c_str());
  }
  namespaced_sshd(const namespaced_sshd&) = delete;
  namespaced_sshd& operator=(const namespaced_sshd&) = delete;

  [[nodiscard]] bool ok() const { return ok_; }
  void cut_the_link() const { std::system(("ip link set " + host_link_ + " down").c_str()); }

  static constexpr const char* host_ip = "10.231.7.1";
  static constexpr const char* peer_ip = "10.231.7.2";

 private:
  std::string ns_;
  std::string host_link_;
  std::string pid_file_;
  bool ok_ = false;
};

TEST_F(ssh_native, vanished_peer_is_detected_and_reported_not_waited_on) {
  const auto& keys = shared_sshd();
  const namespaced_sshd remote(keys);
  ASSERT_TRUE(remote.ok()) << "cannot set up the network namespace (needs root and iproute2)";
  auto options = explicit_login(keys);
  options.host_keys = ssh::host_key_policy::off;  // known_hosts names 127.0.0.1, not this host
  options.keepalive_interval = 1s;
  ssh::connection connection(namespaced_sshd::peer_ip, options);
  session shell(connection);
  EXPECT_EQ(shell.run("echo up").out, "up\n");
  remote.cut_the_link();
  // The command's own deadline (600 s, past ctest's limit for this test) is far away: only the
  // dead link's detection can end it, and it must say so.
  std::error_code ec;
  const auto& done = shell.run("echo never", {.timeout = seconds{600}}, ec);
  EXPECT_EQ(ec, errc::shell_exited);
  EXPECT_FALSE(done.timed_out);
  EXPECT_THAT(done.error, HasSubstr("lost its connection"));
}

}  // namespace
}  // namespace tether::test
