#pragma once

#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace tether::test {

/// A shell the session suite runs against: a local shell, or /bin/sh on the test sshd through
/// the OpenSSH client (ssh_alias names a host of the test sshd's ssh_config).
struct shell_case {
  std::string name;
  std::vector<std::string> argv;
  std::string ssh_alias;
  bool native = false;       ///< libssh instead of the ssh client
  std::string remote_shell;  ///< over SSH, instead of /bin/sh
  [[nodiscard]] bool over_ssh() const { return !ssh_alias.empty(); }
};

inline std::vector<shell_case> all_shells() {
  return {{"dash", {"dash"}}, {"bash", {"bash"}},
          {"zsh", {"zsh"}},   {"busybox_sh", {"busybox", "sh"}},
          {"mksh", {"mksh"}}, {"ksh", {"ksh"}}};
}

/// The same suite over SSH: to an account whose login shell is /bin/sh, and to one whose login
/// shell is tcsh (Tether must start /bin/sh there anyway); and bash at the other end, which
/// gets command lines of its own, here with both end markers (a relay's streams).
inline std::vector<shell_case> ssh_shells() {
  return {{"ssh_openssh", {}, "tether-test"},
          {"ssh_openssh_tcsh_login", {}, "tether-test-tcsh"},
          {"ssh_openssh_bash", {}, "tether-test", false, "bash"},
          {"ssh_libssh", {}, "tether-test", true},
          {"ssh_libssh_tcsh_login", {}, "tether-test-tcsh", true}};
}

inline std::vector<shell_case> every_transport() {
  auto all = all_shells();
  for (auto& remote : ssh_shells()) all.push_back(remote);
  return all;
}

// Keeps test listings readable ("... GetParam() = dash", not a byte dump).
inline void PrintTo(const shell_case& shell, std::ostream* out) {
  *out << shell.name;
}

inline std::string shell_name(const ::testing::TestParamInfo<shell_case>& info) {
  return info.param.name;
}

}  // namespace tether::test
