#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tether/result.hpp"

namespace tether::ssh {

using seconds = std::chrono::duration<double>;

/// What to do with the server's host key.
enum class host_key_policy {
  strict,      ///< it must be in known_hosts already (the default)
  accept_new,  ///< unknown hosts are added to known_hosts; a changed key is still refused
  off,         ///< no check at all (tests, throwaway hosts)
};

/// One prompt of a keyboard-interactive challenge ("Password: ", or a one-time code).
struct keyboard_interactive_prompt {
  std::string text;
  bool echo = false;  ///< the answer may be shown as typed
};

/// How to reach and log in to a host natively (libssh, no ssh process). Every field has a
/// default; an empty field means the default.
struct connect_options {
  std::string user;         ///< default: ssh_config's User, then the local user name
  std::optional<int> port;  ///< default: ssh_config's Port, then 22
  /// An ssh_config file to read for Host aliases, HostName, User, Port and IdentityFile; empty
  /// means ~/.ssh/config. "none" reads no file.
  std::string config_file;
  std::string known_hosts_file;  ///< default ~/.ssh/known_hosts
  host_key_policy host_keys = host_key_policy::strict;
  /// Private key files to try (after the agent); default: ssh_config's IdentityFile entries and
  /// ~/.ssh/id_*.
  std::vector<std::string> identity_files;
  /// Answers a key file's passphrase prompt; unset means keys must be unencrypted.
  std::function<std::string(std::string_view key_file)> passphrase;
  bool use_agent = true;  ///< try the keys of the agent at $SSH_AUTH_SOCK
  /// Tried after the keys when set.
  std::optional<std::string> password;
  /// Answers keyboard-interactive challenges (PAM prompts, one-time codes): one answer per
  /// prompt, in order. Tried last, when set.
  std::function<std::vector<std::string>(std::string_view name, std::string_view instruction,
                                         const std::vector<keyboard_interactive_prompt>& prompts)>
      keyboard_interactive;
  /// How long the TCP connection, the key exchange and the login may take.
  seconds connect_timeout{10.0};
  /// TCP keepalive probes after this much silence, three of them this far apart: a peer that
  /// vanished is noticed (the connection fails) instead of waited on for ever. <= 0: off.
  seconds keepalive_interval{15.0};
};

/// One command run on its own channel (ssh2's exec).
struct exec_options {
  std::optional<std::string> stdin_data;    ///< sent, then end of file; unset: EOF at once
  std::map<std::string, std::string> env;   ///< setenv requests (the server's AcceptEnv decides)
  std::optional<std::string> pty_terminal;  ///< request a pty with this TERM, e.g. "xterm"
  std::optional<seconds> timeout;           ///< unset: none
};

/// What exec() returns: a result, plus how the command died if it died of a signal.
struct exec_result : result {
  std::string exit_signal;  ///< e.g. "KILL", without SIG; empty when it exited normally
  bool core_dumped = false;
  std::string signal_message;
};

/// One authenticated SSH connection (libssh). Many sessions (tether::session on it) and many
/// exec() calls share its single TCP connection and handshake. Move-only; not thread-safe (use
/// it and its sessions from one thread). Destroying it closes the connection; sessions opened
/// on it keep it alive until they are destroyed.
class connection {
 public:
  /// Connect and log in. `host` is a host name, an address or an ssh_config alias. Throws
  /// tether::error: errc::connect_failed (refused, unreachable, timed out: the message says
  /// which), errc::host_key_rejected (unknown or changed key; names the host and both
  /// fingerprints), errc::auth_failed (names the methods tried).
  connection(std::string_view host, connect_options options = {});
  connection(connection&&) noexcept;
  connection& operator=(connection&&) noexcept;
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;
  ~connection();

  /// Run one command on a channel of its own and wait for it: stdout, stderr, exit status, or
  /// the signal that killed it.
  exec_result exec(std::string_view command, const exec_options& options = {});

  /// The host as given, e.g. used as the result's target "ssh+native://host".
  [[nodiscard]] const std::string& host() const;

  struct core;
  /// For tether::session: the shared state behind this connection.
  [[nodiscard]] std::shared_ptr<core> shared_core() const { return core_; }

 private:
  std::shared_ptr<core> core_;
};

}  // namespace tether::ssh
