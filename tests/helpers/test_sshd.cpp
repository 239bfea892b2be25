#include "helpers/test_sshd.hpp"

#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>

#include "helpers/process_checks.hpp"

namespace tether::test {

namespace {

std::string script() {
  return std::string(TETHER_SOURCE_DIR) + "/scripts/test-sshd";
}

test_sshd start_in(const std::string& dir, bool accept_env = true, bool pam = false) {
  const std::string command = std::string(accept_env ? "" : "TETHER_SSHD_NO_ACCEPTENV=1 ") +
                              (pam ? "TETHER_SSHD_PAM=1 " : "") + script() + " start " + dir +
                              " > " + dir + ".start.log 2>&1";
  if (std::system(command.c_str()) != 0) {
    throw std::runtime_error(
        "cannot start the test sshd (" + command +
        "); the SSH tests need root and openssh-server: " + read_file(dir + ".start.log"));
  }
  std::filesystem::remove(dir + ".start.log");
  return {dir, std::stoi(read_file(dir + "/port"))};
}

std::string fresh_dir() {
  char pattern[] = "/tmp/tether-sshd-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
  return pattern;
}

}  // namespace

const test_sshd& shared_sshd() {
  static const std::unique_ptr<test_sshd> server = [] {
    if (const char* dir = std::getenv("TETHER_TEST_SSHD_DIR"); dir != nullptr && *dir != '\0') {
      return std::make_unique<test_sshd>(
          test_sshd{dir, std::stoi(read_file(std::string(dir) + "/port"))});
    }
    auto started = std::make_unique<test_sshd>(start_in(fresh_dir()));
    static const std::string to_stop = started->dir;
    std::atexit([] {
      stop_sshd({to_stop, 0});
      std::filesystem::remove_all(to_stop);
    });
    return started;
  }();
  return *server;
}

test_sshd start_private_sshd(bool accept_env, bool pam) {
  return start_in(fresh_dir(), accept_env, pam);
}

private_sshd::private_sshd(bool accept_env, bool pam)
    : server_(start_private_sshd(accept_env, pam)) {}

private_sshd::~private_sshd() {
  try {
    stop();
  } catch (...) {
    // A destructor must not throw; the next test run uses fresh directories anyway.
  }
  std::error_code ignored;
  std::filesystem::remove_all(server_.dir, ignored);
}

void private_sshd::stop() const {
  stop_sshd(server_);
}

void stop_sshd(const test_sshd& server) {
  const std::string command = script() + " stop " + server.dir;
  if (std::system(command.c_str()) != 0) {
    throw std::runtime_error("cannot stop the test sshd in " + server.dir);
  }
}

}  // namespace tether::test
