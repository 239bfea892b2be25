#include "transport/spawn.hpp"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "tether/error.hpp"

extern char** environ;

namespace tether::transport {

namespace {

struct pipe_pair {
  unique_fd read_end;
  unique_fd write_end;
};

pipe_pair make_pipe() {
  std::array<int, 2> fds{};
  if (::pipe2(fds.data(), O_CLOEXEC) != 0) {
    throw error(errc::spawn_failed, std::string("cannot create a pipe: ") + ::strerror(errno));
  }
  return {unique_fd(fds[0]), unique_fd(fds[1])};
}

void set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

bool is_executable_file(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode) &&
         ::access(path.c_str(), X_OK) == 0;
}

// Reports errno to the parent through the close-on-exec pipe (EOF there means exec succeeded).
[[noreturn]] void fail_in_child(int error_fd, int stage_errno) {
  ssize_t ignored = ::write(error_fd, &stage_errno, sizeof stage_errno);
  (void)ignored;
  ::_exit(127);
}

// Runs in the child between fork and exec: only async-signal-safe calls, no allocation.
[[noreturn]] void run_child(const char* path, char* const* argv, char* const* envp,
                            const char* working_directory, int child_stdin, int child_stdout,
                            int child_stderr, int error_fd, bool commands_on_fd3) {
  auto fail = [error_fd](int stage_errno) { fail_in_child(error_fd, stage_errno); };

  // Dispositions first, while every signal is still blocked (the parent blocked them around
  // fork), so no handler of the parent's can run here.
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &default_action, nullptr);
  }
  if (::setsid() < 0) fail(errno);
  if (working_directory != nullptr && ::chdir(working_directory) != 0) fail(errno);

  // Lift the ends above every target first so that dup2 cannot overwrite one with another
  // (the parent may have run with 0, 1 or 2 closed, so a pipe end can itself be 0, 1 or 2).
  const int kept = commands_on_fd3 ? 4 : 3;  // descriptors the child keeps: 0..kept-1
  const int sources[3] = {child_stdin, child_stdout, child_stderr};
  const int targets[3] = {commands_on_fd3 ? 3 : 0, 1, 2};
  int lifted[3];
  for (int i = 0; i < 3; ++i) {
    lifted[i] = ::fcntl(sources[i], F_DUPFD_CLOEXEC, kept);
    if (lifted[i] < 0) fail(errno);
  }
  if (commands_on_fd3) {
    const int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd < 0) fail(errno);
    if (null_fd != 0 && ::dup2(null_fd, 0) < 0) fail(errno);
    // A null_fd of 1, 2 or 3 is replaced below; a higher one goes at exec (close_range).
  }
  for (int i = 0; i < 3; ++i) {
    // dup2 clears close-on-exec on the target
    if (::dup2(lifted[i], targets[i]) < 0) fail(errno);
  }
  // Every other descriptor goes at exec; the error pipe must stay open until then.
  if (::close_range(static_cast<unsigned>(kept), ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    const long most = ::sysconf(_SC_OPEN_MAX);
    for (int fd = kept; fd < most; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  }

  sigset_t empty;
  ::sigemptyset(&empty);
  ::sigprocmask(SIG_SETMASK, &empty, nullptr);
  ::execve(path, argv, envp);
  fail_in_child(error_fd, errno);
}

// The program's environment, with `_` naming the program run, as a shell sets it for the
// commands it runs. Inherited as it is, `_` names our own program, and ksh93 takes a `_` that
// is no shell of its kind for a sign that it runs a script some other program could not exec:
// it then hands the script to $SHELL, so "ksh" silently ran bash.
std::vector<char*> environment_for(std::string& underscore, const std::string& path) {
  underscore = "_=" + path;
  std::vector<char*> envp;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    if (std::strncmp(*entry, "_=", 2) != 0) envp.push_back(*entry);
  }
  envp.push_back(underscore.data());
  envp.push_back(nullptr);
  return envp;
}

// glibc 2.36's <sys/pidfd.h> declares pidfd_open without extern "C", so C++ cannot link it.
int open_pidfd(pid_t pid) {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

}  // namespace

std::string find_program(const std::string& program) {
  if (program.find('/') != std::string::npos) return program;
  const char* path_env = std::getenv("PATH");
  const std::string search = path_env != nullptr ? path_env : "/usr/local/bin:/usr/bin:/bin";
  std::size_t begin = 0;
  while (begin <= search.size()) {
    std::size_t end = search.find(':', begin);
    if (end == std::string::npos) end = search.size();
    std::string dir = search.substr(begin, end - begin);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + program;
    if (is_executable_file(candidate)) return candidate;
    begin = end + 1;
  }
  return {};
}

spawned_child spawn_with_pipes(const std::vector<std::string>& argv,
                               const std::string& working_directory, bool commands_on_fd3) {
  if (argv.empty() || argv[0].empty()) {
    throw error(errc::invalid_argument, "the shell command is empty");
  }
  const std::string path = find_program(argv[0]);
  if (path.empty()) {
    throw error(errc::spawn_failed,
                "cannot start the shell '" + argv[0] + "': no such program on PATH");
  }
  // Everything the child needs is built before fork: the child may not allocate.
  std::vector<char*> child_argv;
  child_argv.reserve(argv.size() + 1);
  for (const auto& word : argv) child_argv.push_back(const_cast<char*>(word.c_str()));
  child_argv.push_back(nullptr);
  const char* child_dir = working_directory.empty() ? nullptr : working_directory.c_str();
  std::string underscore;
  const std::vector<char*> child_envp = environment_for(underscore, path);

  pipe_pair in = make_pipe();
  pipe_pair out = make_pipe();
  pipe_pair err = make_pipe();
  pipe_pair exec_error = make_pipe();

  // Block every signal around fork so that the child cannot run a handler of ours before it
  // has reset the dispositions.
  sigset_t all;
  sigset_t previous;
  ::sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &previous);
  const pid_t pid = ::fork();
  if (pid == 0) {
    run_child(path.c_str(), child_argv.data(), child_envp.data(), child_dir, in.read_end.get(),
              out.write_end.get(), err.write_end.get(), exec_error.write_end.get(),
              commands_on_fd3);
  }
  const int fork_errno = errno;
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  if (pid < 0) {
    throw error(errc::spawn_failed,
                "cannot start the shell '" + argv[0] + "': fork failed: " + ::strerror(fork_errno));
  }

  in.read_end.reset();
  out.write_end.reset();
  err.write_end.reset();
  exec_error.write_end.reset();

  int child_errno = 0;
  ssize_t got = 0;
  do {
    got = ::read(exec_error.read_end.get(), &child_errno, sizeof child_errno);
  } while (got < 0 && errno == EINTR);
  if (got > 0) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    std::string message = "cannot start the shell '" + argv[0] + "'";
    if (!working_directory.empty() && (child_errno == ENOENT || child_errno == ENOTDIR)) {
      message += " in '" + working_directory + "'";
    }
    throw error(errc::spawn_failed, message + ": " + ::strerror(child_errno));
  }

  spawned_child child;
  child.pid = pid;
  child.pidfd = unique_fd(open_pidfd(pid));
  if (!child.pidfd) {
    const int open_errno = errno;
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    throw error(errc::spawn_failed,
                std::string("cannot watch the shell (pidfd_open, Linux 5.3 or newer): ") +
                    ::strerror(open_errno));
  }
  child.stdin_fd = std::move(in.write_end);
  child.stdout_fd = std::move(out.read_end);
  child.stderr_fd = std::move(err.read_end);
  set_nonblocking(child.stdin_fd.get());
  set_nonblocking(child.stdout_fd.get());
  set_nonblocking(child.stderr_fd.get());
  return child;
}

}  // namespace tether::transport
