// native_ssh_bench: Tether on libssh (tether::ssh::connection) next to Tether over the OpenSSH
// client, against the throwaway sshd of scripts/test-sshd (issue 4). bench/compare_native_ssh.sh
// runs it and prints the table; each mode prints one line whose first field is the number.
//
//   native_ssh_bench SSHD_DIR MODE CMD N
//
//   session          libssh: one connection, one tether::session on it; CMD N times ->
//                    "PER_COMMAND START us": µs per command, and µs from before connecting
//                    until the first (warm-up) command's result
//   openssh-session  the same for tether::session on ssh://tether-test (the OpenSSH client)
//   exec             libssh: one connection, connection::exec(CMD) N times -> µs/cmd
//   channels         libssh: N sessions on one connection, CMD once on each in turn, then all
//                    closed -> "OPEN RUN CLOSE CONNECT us" (each µs for all N together)
//   raw-exec         for diagnosis, no Tether: the same one-shot exec written directly on
//                    libssh (TCP_NODELAY on, blocking reads until EOF) -> µs/cmd; the cost of
//                    the protocol exchange itself, to read `exec` against
//
// SSHD_DIR is what `scripts/test-sshd start DIR` made: ssh_config (alias tether-test),
// known_hosts and user_key. Every timed loop follows one untimed warm-up command; the connect
// and the session start-up are never inside a per-command time.
#include <libssh/libssh.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "tether/session.hpp"
#include "tether/ssh.hpp"

namespace {

using bench_clock = std::chrono::steady_clock;
using micros = std::chrono::duration<double, std::micro>;

constexpr const char* host_alias = "tether-test";

int usage() {
  std::fputs(
      "usage: native_ssh_bench SSHD_DIR MODE CMD N\n"
      "       MODE: session, openssh-session, exec, channels or raw-exec\n"
      "       (SSHD_DIR as made by scripts/test-sshd start DIR)\n",
      stderr);
  return 2;
}

[[noreturn]] void fail(const std::string& why) {
  std::fprintf(stderr, "native_ssh_bench: %s\n", why.c_str());
  std::exit(1);
}

long parse_count(const char* text) {
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  if (*end != '\0' || value <= 0 || value > 100'000'000) {
    std::fprintf(stderr, "native_ssh_bench: not a positive count: %s\n", text);
    std::exit(2);
  }
  return value;
}

struct settings {
  std::string dir;  // the test sshd's directory
};

tether::ssh::connection connect(const settings& how) {
  tether::ssh::connection connection(
      host_alias, tether::ssh::connect_options{.config_file = how.dir + "/ssh_config",
                                               .known_hosts_file = how.dir + "/known_hosts",
                                               .identity_files = {how.dir + "/user_key"},
                                               .use_agent = false});
  return connection;
}

// A command that did not succeed ends the benchmark: a number from failed runs means nothing.
void check(const tether::result& done, const char* command) {
  if (done.ok()) return;
  fail("'" + std::string(command) + "' failed: status " +
       std::to_string(done.exit_status.value_or(-1)) + (done.timed_out ? ", timed out" : "") +
       (done.restarted ? ", restarted" : "") + ", error '" + done.error + "', stderr '" + done.err +
       "'");
}

// Prints "PER_COMMAND START us": µs per command, and µs from `started` (before connecting)
// until the first (warm-up) command's result.
void report_session(tether::session& session, bench_clock::time_point started, const char* command,
                    long count) {
  check(session.run(command), command);  // warm-up
  const double start_up = micros(bench_clock::now() - started).count();
  const auto start = bench_clock::now();
  for (long i = 0; i < count; ++i) check(session.run(command), command);
  const double spent = micros(bench_clock::now() - start).count();
  std::printf("%.2f %.0f us (per command, start-up)\n", spent / static_cast<double>(count),
              start_up);
}

int native_session(const settings& how, const char* command, long count) {
  const auto started = bench_clock::now();
  auto connection = connect(how);
  tether::session session(connection);
  report_session(session, started, command, count);
  return 0;
}

int openssh_session(const settings& how, const char* command, long count) {
  const auto started = bench_clock::now();
  tether::session session(tether::session_options{.target = std::string("ssh://") + host_alias,
                                                  .ssh = {.config_file = how.dir + "/ssh_config"}});
  report_session(session, started, command, count);
  return 0;
}

int native_exec(const settings& how, const char* command, long count) {
  auto connection = connect(how);
  check(connection.exec(command), command);  // warm-up
  const auto start = bench_clock::now();
  for (long i = 0; i < count; ++i) check(connection.exec(command), command);
  const double spent = micros(bench_clock::now() - start).count();
  std::printf("%.2f us/cmd\n", spent / static_cast<double>(count));
  return 0;
}

// Prints "OPEN RUN CLOSE CONNECT us": µs to open all `count` sessions (each a channel and a
// remote shell that has answered), to run the command once on each in turn, to close them all,
// and (for scale) to connect and log in.
int channels(const settings& how, const char* command, long count) {
  const auto connect_start = bench_clock::now();
  auto connection = connect(how);
  const double connect_time = micros(bench_clock::now() - connect_start).count();

  std::vector<tether::session> sessions;
  sessions.reserve(static_cast<std::size_t>(count));
  const auto open_start = bench_clock::now();
  for (long i = 0; i < count; ++i) sessions.emplace_back(connection);
  const double open = micros(bench_clock::now() - open_start).count();

  const auto run_start = bench_clock::now();
  for (auto& session : sessions) check(session.run(command), command);
  const double run = micros(bench_clock::now() - run_start).count();

  // Every one is still open after the others ran.
  for (auto& session : sessions) {
    if (!session.alive()) fail("a session died");
  }
  const auto close_start = bench_clock::now();
  for (auto& session : sessions) session.close();
  const double close = micros(bench_clock::now() - close_start).count();
  sessions.clear();
  std::printf("%.0f %.0f %.0f %.0f us (open run close connect)\n", open, run, close, connect_time);
  return 0;
}

// ---- raw-exec: the floor for one-shot exec, written directly on libssh ----------------------

struct session_freer {
  void operator()(ssh_session session) const {
    ssh_disconnect(session);
    ssh_free(session);
  }
};
using raw_session = std::unique_ptr<ssh_session_struct, session_freer>;

raw_session raw_connect(const settings& how) {
  raw_session session(ssh_new());
  if (!session) fail("ssh_new failed");
  ssh_session handle = session.get();
  const std::string config = how.dir + "/ssh_config";
  const std::string known_hosts = how.dir + "/known_hosts";
  const std::string key_file = how.dir + "/user_key";
  const int on = 1;
  ssh_options_set(handle, SSH_OPTIONS_HOST, host_alias);
  if (ssh_options_parse_config(handle, config.c_str()) != 0) fail("cannot read " + config);
  ssh_options_set(handle, SSH_OPTIONS_KNOWNHOSTS, known_hosts.c_str());
  ssh_options_set(handle, SSH_OPTIONS_NODELAY, &on);
  if (ssh_connect(handle) != SSH_OK) fail(std::string("raw connect: ") + ssh_get_error(handle));
  if (ssh_session_is_known_server(handle) != SSH_KNOWN_HOSTS_OK) fail("raw: unknown host key");
  ssh_key key = nullptr;
  if (ssh_pki_import_privkey_file(key_file.c_str(), nullptr, nullptr, nullptr, &key) != SSH_OK) {
    fail("raw: cannot read " + key_file);
  }
  const int login = ssh_userauth_publickey(handle, nullptr, key);
  ssh_key_free(key);
  if (login != SSH_AUTH_SUCCESS) fail(std::string("raw login: ") + ssh_get_error(handle));
  return session;
}

void raw_exec_once(ssh_session session, const char* command) {
  ssh_channel channel = ssh_channel_new(session);
  if (channel == nullptr || ssh_channel_open_session(channel) != SSH_OK ||
      ssh_channel_request_exec(channel, command) != SSH_OK) {
    fail(std::string("raw exec: ") + ssh_get_error(session));
  }
  ssh_channel_send_eof(channel);
  char buffer[4096];
  for (int is_stderr = 0; is_stderr < 2; ++is_stderr) {
    int got = 0;
    while ((got = ssh_channel_read_timeout(channel, buffer, sizeof buffer, is_stderr, 10'000)) >
           0) {
    }
    if (got == SSH_ERROR) fail(std::string("raw exec read: ") + ssh_get_error(session));
  }
  const int status = ssh_channel_get_exit_status(channel);
  ssh_channel_close(channel);
  ssh_channel_free(channel);
  if (status != 0)
    fail("raw exec: '" + std::string(command) + "' exited with " + std::to_string(status));
}

int raw_exec(const settings& how, const char* command, long count) {
  const auto session = raw_connect(how);
  raw_exec_once(session.get(), command);  // warm-up
  const auto start = bench_clock::now();
  for (long i = 0; i < count; ++i) raw_exec_once(session.get(), command);
  const double spent = micros(bench_clock::now() - start).count();
  std::printf("%.2f us/cmd\n", spent / static_cast<double>(count));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) return usage();
  try {
    const settings how{.dir = argv[1]};
    const std::string mode = argv[2];
    const char* command = argv[3];
    const long count = parse_count(argv[4]);
    if (mode == "session") return native_session(how, command, count);
    if (mode == "openssh-session") return openssh_session(how, command, count);
    if (mode == "exec") return native_exec(how, command, count);
    if (mode == "channels") return channels(how, command, count);
    if (mode == "raw-exec") return raw_exec(how, command, count);
    return usage();
  } catch (const std::exception& failure) {
    fail(failure.what());
  }
}
