#pragma once

#include <libssh/libssh.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "tether/ssh.hpp"
#include "transport/libssh_side_command.hpp"

namespace tether::ssh {

/// The libssh session behind a tether::ssh::connection, shared by the sessions and channels
/// opened on it. Not thread-safe, like libssh itself.
struct connection::core {
  ssh_session handle = nullptr;
  std::string host;     ///< as given
  std::string display;  ///< user@host:port as connected, for messages
  /// Side commands whose session no longer waits for them but whose channel is not settled
  /// yet (see transport::libssh_side_command): advanced by whichever shell on this connection
  /// reads next, freed before the connection.
  struct lingering_command {
    std::unique_ptr<transport::libssh_side_command> side;
    std::chrono::steady_clock::time_point drop_at;  // a server that never answers: let go
  };
  std::vector<lingering_command> lingering;

  /// Hand over a side command no session waits for any more; a signal whose late arrival
  /// could hit a later command (`harmful_late`) is abandoned (see libssh_side_command).
  void linger(std::unique_ptr<transport::libssh_side_command> side, bool harmful_late);
  /// Take the lingering side commands' next steps; drop those that are done or too old.
  void advance_lingering();

  core() = default;
  core(const core&) = delete;
  core& operator=(const core&) = delete;
  ~core();
};

/// Set a new libssh session up for `options` (ssh_config first, explicit settings over it).
/// Throws tether::error(connect_failed) for a config file that cannot be read.
void configure(connection::core& core, const connect_options& options);

/// Check the server's key against known_hosts as `options` say. Throws
/// tether::error(host_key_rejected) with the fingerprints and what to do.
void check_host_key(connection::core& core, const connect_options& options);

/// TCP keepalives on the connection's socket (see connect_options::keepalive_interval).
void enable_keepalives(int fd, seconds interval);

/// Connect, check the host key, authenticate, waiting as long as that takes (ssh::login's
/// steps with poll). Throws tether::error (connect_failed,
/// host_key_rejected, auth_failed) with a message that says what to do.
void connect_and_login(connection::core& core, const connect_options& options);

/// The SHA256 fingerprint of a key as ssh prints it ("SHA256:..."), or "" if it cannot be had.
std::string fingerprint_of(ssh_key key);

}  // namespace tether::ssh
