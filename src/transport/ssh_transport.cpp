#include "transport/ssh_transport.hpp"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "tether/error.hpp"
#include "transport/spawn.hpp"

extern char** environ;

namespace tether::transport {

namespace {

std::string make_control_dir() {
  // /tmp, not $TMPDIR: a unix socket path must stay under ~104 bytes.
  char pattern[] = "/tmp/tether-ssh-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) {
    throw error(errc::spawn_failed, std::string("cannot create a directory for the ssh "
                                                "control socket: ") +
                                        ::strerror(errno));
  }
  return pattern;
}

// ssh takes the first value it sees for an option: settings placed first win.
std::vector<std::string> master_argv(const ssh_command& command, const std::string& control) {
  std::vector<std::string> argv{command.program,
                                "-T",
                                "-o",
                                "ControlMaster=yes",
                                "-o",
                                "ControlPath=" + control,
                                "-o",
                                "ControlPersist=no",
                                "-o",
                                "BatchMode=yes"};
  argv.insert(argv.end(), command.options.begin(), command.options.end());
  argv.push_back("-o");
  argv.push_back("ConnectTimeout=" + std::to_string(command.connect_timeout_s));
  argv.insert(argv.end(), command.destination.begin(), command.destination.end());
  // `exec` so that the POSIX shell replaces whatever login shell runs the command (tcsh,
  // fish): its pid is then the session leader's, the process group an interrupt can reach.
  // The redirections are POSIX syntax, so they go inside `sh -c '...'`, which tcsh and fish
  // pass on untouched.
  if (command.commands_on_fd3) {
    argv.push_back("exec /bin/sh -c 'exec " + command.remote_shell + " /dev/fd/3 3<&0 </dev/null'");
  } else {
    argv.push_back("exec " + command.remote_shell);
  }
  return argv;
}

// The side channel's command runs under the account's login shell (maybe tcsh or fish), so it
// starts a POSIX shell first. `kill -SIG -PGID` is the one spelling that dash, busybox, bash,
// mksh, zsh and ksh93 all accept (dash rejects `--`, busybox rejects `-s SIG ... --`).
std::string remote_group_kill(const char* signal_name, int group) {
  return "exec /bin/sh -c 'kill -" + std::string(signal_name) + " -" + std::to_string(group) + "'";
}

}  // namespace

ssh_transport::ssh_transport(ssh_command command)
    : command_(std::move(command)), control_dir_(make_control_dir()) {
  control_path_ = control_dir_ + "/control";
  try {
    ssh_ = std::make_unique<process_transport>(master_argv(command_, control_path_), "");
  } catch (...) {
    std::filesystem::remove_all(control_dir_);
    throw;
  }
}

ssh_transport::~ssh_transport() {
  stop(0);
}

std::size_t ssh_transport::add_poll_fds(std::vector<pollfd>& fds, bool want_write) const {
  std::size_t count = ssh_->add_poll_fds(fds, want_write);
  watch_polled_ = static_cast<bool>(interrupt_watch_);
  if (watch_polled_) {
    fds.push_back({interrupt_watch_.get(), POLLIN, 0});
    ++count;
  }
  return count;
}

void ssh_transport::on_ready(const pollfd* mine, std::size_t count, byte_sink& sink) {
  ssh_->on_ready(mine, count - (watch_polled_ && count > 0 ? 1 : 0), sink);
  check_interrupt_delivered();
  if (!helpers_.empty()) reap_helpers(false);
}

void ssh_transport::check_interrupt_delivered() {
  if (interrupt_helper_ <= 0) return;
  pid_t done = 0;
  do {
    done = ::waitpid(interrupt_helper_, nullptr, WNOHANG);
  } while (done < 0 && errno == EINTR);
  const bool reaped = done == interrupt_helper_ || done < 0;
  if (reaped) std::erase(helpers_, interrupt_helper_);  // its pid may be reused: forget it
  if (!reaped && std::chrono::steady_clock::now() >= interrupt_give_up_) {
    // Given up: arriving late, the signal could hit the next command. Killing the helper stops
    // it if its request has not reached the server yet (stop() reaps it).
    ::kill(interrupt_helper_, SIGKILL);
  }
  if (reaped || std::chrono::steady_clock::now() >= interrupt_give_up_) {
    interrupt_helper_ = -1;
    drop_watch();
  }
}

std::optional<std::chrono::steady_clock::time_point> ssh_transport::interrupt_in_flight() const {
  if (interrupt_helper_ <= 0) return std::nullopt;
  return interrupt_give_up_;
}

std::size_t ssh_transport::write_some(std::string_view bytes, std::error_code& ec) {
  return ssh_->write_some(bytes, ec);
}

std::string ssh_transport::end_description() const {
  const std::string local = ssh_->end_description();
  if (local == "exited with status 255") {
    return "ended: ssh exited with status 255 (the connection failed or was lost, or the "
           "remote shell was killed)";
  }
  return local;
}

pid_t ssh_transport::send_over_side_channel(const std::string& remote_command) {
  std::vector<std::string> words{command_.program,   "-S", control_path_, "-o",
                                 "ControlMaster=no", "-T", "-o",          "BatchMode=yes"};
  words.insert(words.end(), command_.options.begin(), command_.options.end());
  words.insert(words.end(), command_.destination.begin(), command_.destination.end());
  words.push_back(remote_command);
  std::vector<char*> argv;
  for (auto& word : words) argv.push_back(word.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;
  ::posix_spawn_file_actions_init(&actions);
  for (int fd = 0; fd < 3; ++fd) {
    ::posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0);
  }
  ::posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  ::posix_spawnattr_init(&attributes);
  sigset_t none;
  sigset_t all;
  ::sigemptyset(&none);
  ::sigfillset(&all);
  ::posix_spawnattr_setsigmask(&attributes, &none);
  ::posix_spawnattr_setsigdefault(&attributes, &all);
  ::posix_spawnattr_setflags(&attributes,
                             POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  const std::string path = find_program(command_.program);
  pid_t pid = -1;
  if (path.empty() ||
      ::posix_spawn(&pid, path.c_str(), &actions, &attributes, argv.data(), environ) != 0) {
    pid = -1;
  }
  ::posix_spawn_file_actions_destroy(&actions);
  ::posix_spawnattr_destroy(&attributes);
  if (pid > 0) helpers_.push_back(pid);
  return pid;
}

void ssh_transport::reap_helpers(bool wait) {
  std::erase_if(helpers_, [wait](pid_t pid) {
    pid_t done = 0;
    do {
      done = ::waitpid(pid, nullptr, wait ? 0 : WNOHANG);
    } while (done < 0 && errno == EINTR);
    return done != 0;  // reaped, or not ours any more
  });
}

void ssh_transport::interrupt() {
  if (ended() || remote_pid_ <= 0) return;
  // The remote shell is its session's leader, so its pid names its process group. Wait until
  // the kill has run (a few ms over the shared connection): a SIGINT still on its way when the
  // command ends by itself would hit the next command.
  if (interrupt_helper_ > 0) return;  // one is on its way already
  watch_helper(send_over_side_channel(remote_group_kill("INT", remote_pid_)));
}

void ssh_transport::begin_kill() {
  if (ended() || remote_pid_ <= 0 || kill_sent_) return;
  kill_sent_ = true;
  // An interrupt still on its way is not waited for any more: the kill supersedes it (stop()
  // kills and reaps that helper).
  interrupt_helper_ = -1;
  drop_watch();
  watch_helper(send_over_side_channel(remote_group_kill("KILL", remote_pid_)));
}

void ssh_transport::drop_watch() {
  if (!interrupt_watch_) return;
  interrupt_watch_.reset();
  ++closed_watches_;
}

void ssh_transport::watch_helper(pid_t helper) {
  if (helper <= 0) return;
  const int watch = static_cast<int>(::syscall(SYS_pidfd_open, helper, 0));
  if (watch < 0) {
    wait_for_helper(helper, std::chrono::seconds(2));  // no pidfd: wait here, bounded
    return;
  }
  interrupt_helper_ = helper;
  interrupt_watch_.reset(watch);
  interrupt_give_up_ = std::chrono::steady_clock::now() + std::chrono::seconds(2);
}

void ssh_transport::wait_for_helper(pid_t helper, std::chrono::milliseconds limit) {
  if (helper <= 0) return;
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    const pid_t done = ::waitpid(helper, nullptr, WNOHANG);
    if (done == helper || (done < 0 && errno != EINTR)) {
      std::erase(helpers_, helper);  // reaped: its pid may be reused, never signal it again
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

void ssh_transport::stop(int grace_ms) noexcept {
  if (stopped_) return;
  try {
    if (!ended() && remote_pid_ > 0 && !kill_sent_) {
      // Whatever the shell's commands left running remotely goes first, while the connection
      // still stands; a bounded wait, as a dead link must not hang the stop.
      wait_for_helper(send_over_side_channel(remote_group_kill("KILL", remote_pid_)),
                      std::chrono::seconds(2));
    }
  } catch (...) {
    // Out of memory while building the helper's argv: go on with the local ladder.
  }
  stopped_ = true;
  interrupt_helper_ = -1;
  drop_watch();
  ssh_->stop(grace_ms);
  for (pid_t pid : helpers_) ::kill(pid, SIGKILL);
  reap_helpers(true);
  std::error_code ignored;
  std::filesystem::remove_all(control_dir_, ignored);
}

}  // namespace tether::transport
