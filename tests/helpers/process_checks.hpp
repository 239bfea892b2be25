#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace tether::test {

/// The descriptors this process has open now, from /proc/self/fd.
std::vector<int> open_descriptors();

/// Processes whose parent is this process (zombies included), as "pid state comm" lines.
std::vector<std::string> child_processes();

/// True when `pid` exists and is not a zombie.
bool process_is_running(pid_t pid);

/// Poll process_is_running until it is false or `seconds` pass; returns the last answer.
bool process_still_running_after(pid_t pid, double seconds);

/// A field of /proc/PID/status, e.g. "SigBlk"; empty if absent.
std::string proc_status_field(pid_t pid, const std::string& field);

/// Read a whole file; empty if it cannot be read.
std::string read_file(const std::string& path);

}  // namespace tether::test
