#include "helpers/process_checks.hpp"

#include <dirent.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

namespace tether::test {

namespace {

struct stat_line {
  pid_t parent = 0;
  char state = '?';
  std::string comm;
};

bool read_stat(pid_t pid, stat_line& line) {
  const std::string text = read_file("/proc/" + std::to_string(pid) + "/stat");
  // The command name is in parentheses and may contain spaces and ')': split at the last ')'.
  const auto open = text.find('(');
  const auto close = text.rfind(')');
  if (open == std::string::npos || close == std::string::npos) return false;
  line.comm = text.substr(open + 1, close - open - 1);
  std::istringstream rest(text.substr(close + 2));
  rest >> line.state >> line.parent;
  return true;
}

}  // namespace

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<int> open_descriptors() {
  std::vector<int> fds;
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return fds;
  const int own = ::dirfd(dir);
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    const int fd = std::stoi(entry->d_name);
    if (fd != own) fds.push_back(fd);
  }
  ::closedir(dir);
  return fds;
}

std::vector<std::string> child_processes() {
  std::vector<std::string> children;
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) return children;
  const pid_t self = ::getpid();
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    const pid_t pid = static_cast<pid_t>(std::stol(entry->d_name));
    stat_line line;
    if (read_stat(pid, line) && line.parent == self) {
      children.push_back(std::to_string(pid) + " " + line.state + " " + line.comm);
    }
  }
  ::closedir(dir);
  return children;
}

bool process_is_running(pid_t pid) {
  stat_line line;
  return read_stat(pid, line) && line.state != 'Z' && line.state != 'X';
}

bool process_still_running_after(pid_t pid, double seconds) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (process_is_running(pid)) {
    if (std::chrono::steady_clock::now() >= until) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

std::string proc_status_field(pid_t pid, const std::string& field) {
  std::istringstream text(read_file("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(text, line)) {
    if (line.rfind(field + ":", 0) == 0) {
      const auto value = line.find_first_not_of(" \t", field.size() + 1);
      return value == std::string::npos ? "" : line.substr(value);
    }
  }
  return {};
}

}  // namespace tether::test
