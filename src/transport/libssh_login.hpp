#pragma once

#include <poll.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "transport/libssh_connection.hpp"

namespace tether::ssh {

/// Connecting to a host, checking its key and logging in, as steps that never block: the owner
/// waits on wanted() until deadline() and calls advance(). A fleet drives hundreds of these
/// from one thread; connect_and_login drives one with poll.
///
/// libssh's non-blocking mode does the work: each call returns SSH_AGAIN (SSH_AUTH_AGAIN) until
/// the server's answer has come, and is then made again with the same arguments. The one step
/// that still blocks is the host name lookup (getaddrinfo inside ssh_connect): instant for
/// addresses and /etc/hosts names.
class login {
 public:
  using clock = std::chrono::steady_clock;

  /// Sets the connection up (ssh_config, options) and starts connecting. Throws tether::error
  /// (connect_failed) for a bad config file or an immediate failure.
  login(connection::core& core, connect_options options);
  login(const login&) = delete;
  login& operator=(const login&) = delete;
  ~login();

  /// Take every step that can be taken now. True once logged in (the session is then back in
  /// blocking mode, as the rest of Tether uses it). Throws tether::error (connect_failed,
  /// host_key_rejected, auth_failed) with a message that says what to do; also when `now` is
  /// past the deadline.
  bool advance(clock::time_point now);

  /// The socket and the events to wait for (fd -1 before there is one).
  [[nodiscard]] pollfd wanted() const;
  /// connect_timeout after the start, moved on by the time the user's callbacks took.
  [[nodiscard]] clock::time_point deadline() const { return deadline_; }

 private:
  enum class stage { connecting, asking_methods, trying_methods, done };
  // One way of logging in (the agent, a key file, a password...). `call` is made again while it
  // returns SSH_AUTH_AGAIN; it may add to `note` why it failed.
  struct method {
    std::function<int(std::string& note)> call;
    std::string refused;  // added to the list of what was tried when it fails
  };

  void plan_methods();
  bool try_methods();
  [[noreturn]] void fail_on_timeout() const;
  void after_user_callback(clock::time_point before);

  connection::core& core_;
  connect_options options_;
  stage stage_ = stage::connecting;
  clock::time_point deadline_;
  std::vector<method> methods_;
  std::size_t current_ = 0;
  std::string tried_;
  int accepted_ = 0;  // the server's SSH_AUTH_METHOD_* bits
};

}  // namespace tether::ssh
