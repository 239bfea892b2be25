#include "transport/process_transport.hpp"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include <array>
#include <memory>

#include "transport/pipe_write.hpp"

namespace tether::transport {

namespace {

// Pipes start at 64 KiB. A stream that fills a whole read is moving bulk data: a 1 MiB pipe
// then halves the number of wake-ups and roughly doubles throughput. Growing only then keeps
// idle sessions small (thousands of sessions x 2 pipes x 1 MiB would not be).
constexpr int default_pipe_size = 64 * 1024;
constexpr int bulk_pipe_size = 1024 * 1024;

// exit_status_ when the program's own SIGCHLD handling took the shell's status.
constexpr int unknown_status = -1;

char* read_buffer() {
  // One buffer per thread, as large as a grown pipe so one read can empty it.
  thread_local std::unique_ptr<char[]> buffer(new char[bulk_pipe_size]);
  return buffer.get();
}

}  // namespace

process_transport::process_transport(const std::vector<std::string>& argv,
                                     const std::string& working_directory, bool ordered,
                                     bool commands_on_fd3)
    : child_(spawn_with_pipes(argv, working_directory, commands_on_fd3)),
      ordered_(ordered),
      commands_on_fd3_(commands_on_fd3) {}

process_transport::~process_transport() {
  stop(0);
}

std::size_t process_transport::add_poll_fds(std::vector<pollfd>& fds, bool want_write) const {
  const std::size_t before = fds.size();
  // Closed descriptors are listed as -1, which poll ignores, so positions stay fixed.
  fds.push_back({child_.stdout_fd.get(), POLLIN, 0});
  fds.push_back({child_.stderr_fd.get(), POLLIN, 0});
  fds.push_back({ended() ? -1 : child_.pidfd.get(), POLLIN, 0});
  fds.push_back({want_write ? child_.stdin_fd.get() : -1, POLLOUT, 0});
  return fds.size() - before;
}

process_transport::read_outcome process_transport::read_once(unique_fd& fd, output_stream stream,
                                                             bool& grown, byte_sink& sink) {
  const std::span<char> target = sink.read_target(stream);
  char* buffer = target.empty() ? read_buffer() : target.data();
  const std::size_t room = target.empty() ? bulk_pipe_size : target.size();
  const ssize_t got = ::read(fd.get(), buffer, room);
  if (got > 0) {
    if (!grown && got >= default_pipe_size) {
      grown = true;
      ::fcntl(fd.get(), F_SETPIPE_SZ, bulk_pipe_size);  // best effort: the limit may forbid it
    }
    sink.on_bytes(stream, std::string_view(buffer, static_cast<std::size_t>(got)));
    return read_outcome::data;
  }
  // A sink that lent memory learns that nothing came, so it can take the memory back.
  if (!target.empty()) sink.on_bytes(stream, std::string_view(buffer, 0));
  if (got < 0 && (errno == EAGAIN || errno == EINTR)) return read_outcome::would_block;
  fd.reset();  // EOF, or an error that will not go away: stop polling it
  ++closed_;
  return read_outcome::closed;
}

void process_transport::on_ready(const pollfd* mine, std::size_t count, byte_sink& sink) {
  if (count < 3) return;
  if (mine[0].revents != 0 && child_.stdout_fd) {
    read_once(child_.stdout_fd, output_stream::out, out_grown_, sink);
  }
  if (mine[1].revents != 0 && child_.stderr_fd) {
    read_once(child_.stderr_fd, output_stream::err, err_grown_, sink);
  }
  if (mine[2].revents != 0) note_exit();
}

void process_transport::note_exit() {
  if (exit_status_) return;
  siginfo_t info{};
  // WNOWAIT leaves the shell a zombie until stop(): its process id, and so its process group
  // id, cannot be reused meanwhile, which makes the group kill in stop() safe.
  const int waited =
      ::waitid(P_PID, static_cast<id_t>(child_.pid), &info, WEXITED | WNOHANG | WNOWAIT);
  if (waited < 0 && errno == ECHILD) {
    // The program reaps children itself (SIGCHLD ignored, or a waitpid(-1) handler) and took
    // the shell's status: it has ended, how is unknown, and its pid is no longer ours to signal.
    exit_status_ = unknown_status;
    return;
  }
  if (waited == 0 && info.si_pid == child_.pid) {
    if (info.si_code == CLD_EXITED) {
      exit_status_ = W_EXITCODE(info.si_status, 0);
    } else {
      // The same encoding as a wait status: signal number, plus 0x80 for a core dump.
      exit_status_ = info.si_status | (info.si_code == CLD_DUMPED ? 0x80 : 0);
    }
  }
}

// One read: it takes up to a whole grown pipe. Stdout is not read again: anything after the
// marker there is a background process's, and waits for the next command, as it would anyway.
void process_transport::complete_stderr(byte_sink& sink) {
  if (child_.stderr_fd) read_once(child_.stderr_fd, output_stream::err, err_grown_, sink);
}

void process_transport::drain(byte_sink& sink, int rounds) {
  for (int round = 0; round < rounds; ++round) {
    bool more = false;
    if (child_.stdout_fd &&
        read_once(child_.stdout_fd, output_stream::out, out_grown_, sink) == read_outcome::data) {
      more = true;
    }
    if (child_.stderr_fd &&
        read_once(child_.stderr_fd, output_stream::err, err_grown_, sink) == read_outcome::data) {
      more = true;
    }
    if (!more) return;
  }
}

std::size_t process_transport::write_some(std::string_view bytes, std::error_code& ec) {
  if (!child_.stdin_fd) {
    ec = std::make_error_code(std::errc::broken_pipe);
    return 0;
  }
  const ssize_t put = write_without_sigpipe(child_.stdin_fd.get(), bytes);
  if (put >= 0) return static_cast<std::size_t>(put);
  if (errno == EAGAIN) return 0;
  ec = std::error_code(errno, std::generic_category());
  return 0;
}

std::string process_transport::end_description() const {
  if (!exit_status_) return "is still running";
  if (*exit_status_ == unknown_status) {
    return "exited (its status was collected by the program's own SIGCHLD handling)";
  }
  const int status = *exit_status_;
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  const int sig = WTERMSIG(status);
  const char* name = ::sigabbrev_np(sig);
  std::string text = "was killed by signal " + std::to_string(sig);
  if (name != nullptr) text += std::string(" (SIG") + name + ")";
  if (WCOREDUMP(status)) text += ", core dumped";
  return text;
}

void process_transport::interrupt() {
  if (!ended()) ::kill(-child_.pid, SIGINT);  // not ended: unreaped, so the group id is ours
}

void process_transport::stop(int grace_ms) noexcept {
  if (stopped_) return;
  stopped_ = true;
  child_.stdin_fd.reset();  // a shell reading commands exits at end of input
  if (!ended() && grace_ms > 0) {
    pollfd exit_watch{child_.pidfd.get(), POLLIN, 0};
    while (::poll(&exit_watch, 1, grace_ms) < 0 && errno == EINTR) {
    }
  }
  // The group id stays reserved while the shell is unreaped, so this cannot hit a stranger.
  // It also ends whatever the commands left running in the background. If the program reaped
  // the shell itself, the id may be reused: then it is not signalled.
  if (exit_status_ != unknown_status) {
    ::kill(-child_.pid, SIGKILL);
    while (::waitpid(child_.pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  child_.stdout_fd.reset();
  child_.stderr_fd.reset();
  child_.pidfd.reset();
}

}  // namespace tether::transport
