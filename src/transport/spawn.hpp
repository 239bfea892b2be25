#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "transport/unique_fd.hpp"

namespace tether::transport {

/// A child started with three pipes, in its own session and process group.
struct spawned_child {
  pid_t pid = -1;
  unique_fd pidfd;      ///< readable once the child has exited (it is not reaped)
  unique_fd stdin_fd;   ///< write end of the child's stdin, non-blocking
  unique_fd stdout_fd;  ///< read end of the child's stdout, non-blocking
  unique_fd stderr_fd;  ///< read end of the child's stderr, non-blocking
};

/// Start argv[0] (looked up on PATH when it has no '/') with argv, in `working_directory` if
/// non-empty. The child gets only the three pipes (every other descriptor is closed), default
/// signal dispositions, an empty signal mask, and its own session (setsid), so that signals to
/// its process group reach the shell and everything it starts, and nothing else.
///
/// Throws tether::error(errc::spawn_failed) naming the program when it cannot be found or
/// executed; exec failure is reported through a close-on-exec pipe, so it is never mistaken for
/// a shell that started and died.
///
/// With `commands_on_fd3`, the stdin pipe becomes the child's descriptor 3 instead, and its
/// stdin is /dev/null (for a shell started as `sh /dev/fd/3`: see protocol::prelude_options).
spawned_child spawn_with_pipes(const std::vector<std::string>& argv,
                               const std::string& working_directory, bool commands_on_fd3 = false);

/// The full path that execve would run for `program`, searching PATH like execvp; empty if none.
std::string find_program(const std::string& program);

}  // namespace tether::transport
