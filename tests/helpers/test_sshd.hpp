#pragma once

#include <string>

namespace tether::test {

/// A throwaway OpenSSH server on 127.0.0.1 (scripts/test-sshd), with the files a client needs:
/// ssh_config defines the aliases `tether-test` (user tether-sh, login shell /bin/sh) and
/// `tether-test-tcsh` (login shell tcsh), with the user key and a known_hosts file.
inline constexpr const char* test_password = "tether-test-password";

struct test_sshd {
  std::string dir;
  int port = 0;
  [[nodiscard]] std::string ssh_config() const { return dir + "/ssh_config"; }
  [[nodiscard]] std::string user_key() const { return dir + "/user_key"; }
  [[nodiscard]] std::string other_key() const { return dir + "/other_key"; }
  [[nodiscard]] std::string known_hosts() const { return dir + "/known_hosts"; }
};

/// The server shared by this test process: TETHER_TEST_SSHD_DIR's if set (scripts/test starts
/// one for the whole suite), otherwise one started now and stopped when the process exits.
/// Throws std::runtime_error with the reason if none can be started (it needs root).
const test_sshd& shared_sshd();

/// A server of the test's own, for tests that stop it or need other settings; stopped and its
/// files removed when this goes (declare it before the sessions that use it). stop() may come
/// earlier, e.g. from the test itself; stopping twice is harmless.
class private_sshd {
 public:
  explicit private_sshd(bool accept_env = true, bool pam = false);
  ~private_sshd();
  private_sshd(const private_sshd&) = delete;
  private_sshd& operator=(const private_sshd&) = delete;
  [[nodiscard]] const test_sshd& server() const { return server_; }
  void stop() const;

 private:
  test_sshd server_;
};

/// The same without the guard. Stop it with stop_sshd().
/// With `accept_env` false its sshd accepts no environment variables; with `pam`, it offers
/// keyboard-interactive authentication through PAM (which asks for the password).
test_sshd start_private_sshd(bool accept_env = true, bool pam = false);
void stop_sshd(const test_sshd& server);

}  // namespace tether::test
