#pragma once

#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace tether::test {

/// A shell the session suite runs against.
struct shell_case {
  std::string name;
  std::vector<std::string> argv;
};

inline std::vector<shell_case> all_shells() {
  return {{"dash", {"dash"}}, {"bash", {"bash"}},
          {"zsh", {"zsh"}},   {"busybox_sh", {"busybox", "sh"}},
          {"mksh", {"mksh"}}, {"ksh", {"ksh"}}};
}

// Keeps test listings readable ("... GetParam() = dash", not a byte dump).
inline void PrintTo(const shell_case& shell, std::ostream* out) {
  *out << shell.name;
}

inline std::string shell_name(const ::testing::TestParamInfo<shell_case>& info) {
  return info.param.name;
}

}  // namespace tether::test
