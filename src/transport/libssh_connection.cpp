#include "transport/libssh_connection.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>

#include "loop/poll_wait.hpp"
#include "tether/error.hpp"
#include "transport/libssh_login.hpp"

namespace tether::ssh {

namespace {

template <typename T, void (*Free)(T*)>
struct freer {
  void operator()(T* pointer) const { Free(pointer); }
};

void free_key(ssh_key_struct* key) {
  ssh_key_free(key);
}
void free_entry(ssh_knownhosts_entry* entry) {
  ssh_knownhosts_entry_free(entry);
}
using key_ptr = std::unique_ptr<ssh_key_struct, freer<ssh_key_struct, free_key>>;
using entry_ptr = std::unique_ptr<ssh_knownhosts_entry, freer<ssh_knownhosts_entry, free_entry>>;

std::string libssh_error(ssh_session session) {
  return ssh_get_error(session);
}

// A string option as libssh resolved it (after ssh_config), or `fallback`.
std::string option_text(ssh_session session, ssh_options_e option, const std::string& fallback) {
  char* value = nullptr;
  ssh_options_get(session, option, &value);
  std::string text = value != nullptr ? value : fallback;
  ssh_string_free_char(value);
  return text;
}

unsigned int port_of(ssh_session session) {
  unsigned int port = 22;
  ssh_options_get_port(session, &port);
  return port;
}

// The fingerprints known_hosts holds for this host ("[host]:port" unless the port is 22),
// for the message when the server offers another key. libssh does not hand them over then.
std::string known_fingerprints(const connection::core& core) {
  const std::string path = option_text(core.handle, SSH_OPTIONS_KNOWNHOSTS, "");
  std::string name = option_text(core.handle, SSH_OPTIONS_HOST, core.host);
  if (const unsigned int port = port_of(core.handle); port != 22) {
    name = "[" + name + "]:" + std::to_string(port);
  }
  std::ifstream lines(path);
  std::string line;
  std::string found;
  while (std::getline(lines, line)) {
    ssh_knownhosts_entry* raw = nullptr;
    if (ssh_known_hosts_parse_line(name.c_str(), line.c_str(), &raw) != SSH_OK) continue;
    const entry_ptr entry(raw);
    if (entry && entry->publickey != nullptr) {
      found += (found.empty() ? "" : " and ") + fingerprint_of(entry->publickey);
    }
  }
  return found.empty() ? "another key" : found;
}

}  // namespace

void check_host_key(connection::core& core, const connect_options& options) {
  if (options.host_keys == host_key_policy::off) return;
  ssh_key server_raw = nullptr;
  if (ssh_get_server_publickey(core.handle, &server_raw) != SSH_OK) {
    throw error(errc::host_key_rejected,
                "cannot read the host key of " + core.display + ": " + libssh_error(core.handle));
  }
  const key_ptr server_key(server_raw);
  const std::string offered = fingerprint_of(server_key.get());
  const auto state = ssh_session_is_known_server(core.handle);
  switch (state) {
    case SSH_KNOWN_HOSTS_OK:
      return;
    case SSH_KNOWN_HOSTS_CHANGED:
    case SSH_KNOWN_HOSTS_OTHER: {
      const std::string known = known_fingerprints(core);
      throw error(errc::host_key_rejected,
                  "the host key of " + core.display + " has changed: known_hosts has " + known +
                      ", the server offered " + offered +
                      ". This may be an attack; if the change is expected, remove the old key "
                      "(ssh-keygen -R HOST) and connect again");
    }
    case SSH_KNOWN_HOSTS_UNKNOWN:
    case SSH_KNOWN_HOSTS_NOT_FOUND:
      if (options.host_keys == host_key_policy::accept_new) {
        if (ssh_session_update_known_hosts(core.handle) != SSH_OK) {
          throw error(errc::host_key_rejected, "cannot add the host key of " + core.display +
                                                   " to known_hosts: " + libssh_error(core.handle));
        }
        return;
      }
      throw error(errc::host_key_rejected,
                  "the host key of " + core.display + " (" + offered +
                      ") is not in known_hosts; check it and add it (ssh-keyscan), or connect "
                      "with host_key_policy::accept_new");
    case SSH_KNOWN_HOSTS_ERROR:
      break;
  }
  throw error(errc::host_key_rejected,
              "cannot check the host key of " + core.display + ": " + libssh_error(core.handle));
}

// libssh 0.10 has no keepalive of its own: TCP keepalives make the kernel notice a peer that
// vanished (power loss, a dropped route) within about interval x 4, and the next read on the
// connection then fails with an error instead of waiting for ever. (A hung but living sshd is
// not noticed this way: its kernel still answers; the command's timeout covers that.)
void enable_keepalives(int fd, seconds interval) {
  if (fd < 0 || !(interval.count() > 0)) return;
  const int every = std::max(1, static_cast<int>(interval.count()));
  const int on = 1;
  const int probes = 3;
  ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &every, sizeof every);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &every, sizeof every);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &probes, sizeof probes);
  // Keepalives are silent while sent data waits for its acknowledgement (a command line written
  // to a dead link): bound that case too, or it lasts TCP's retransmission time (~15 min).
  const unsigned int unacknowledged_ms = static_cast<unsigned int>(every) * 4000U;
  ::setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &unacknowledged_ms, sizeof unacknowledged_ms);
}

connection::core::~core() {
  lingering.clear();  // their channels go before the session that owns them
  if (handle != nullptr) {
    ssh_disconnect(handle);
    ssh_free(handle);
  }
}

void connection::core::linger(std::unique_ptr<transport::libssh_side_command> side,
                              bool harmful_late) {
  if (harmful_late) side->abandon();
  // Long enough for any server that still answers; a channel still opening when it is dropped
  // is freed without a close (see libssh_side_command).
  constexpr std::chrono::seconds patience{10};
  lingering.push_back({std::move(side), std::chrono::steady_clock::now() + patience});
}

void connection::core::advance_lingering() {
  const auto now = std::chrono::steady_clock::now();
  std::erase_if(lingering, [now](const auto& waiting) {
    return waiting.side->advance() || now >= waiting.drop_at;
  });
}

std::string fingerprint_of(ssh_key key) {
  unsigned char* hash = nullptr;
  std::size_t length = 0;
  if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &length) != SSH_OK) return "";
  char* text = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, length);
  std::string fingerprint = text != nullptr ? text : "";
  ssh_string_free_char(text);
  ssh_clean_pubkey_hash(&hash);
  return fingerprint;
}

void configure(connection::core& core, const connect_options& options) {
  core.handle = ssh_new();
  if (core.handle == nullptr) throw error(errc::connect_failed, "libssh: out of memory");
  ssh_options_set(core.handle, SSH_OPTIONS_HOST, core.host.c_str());
  if (options.config_file == "none") {
    bool no = false;
    ssh_options_set(core.handle, SSH_OPTIONS_PROCESS_CONFIG, &no);
  } else if (ssh_options_parse_config(core.handle, options.config_file.empty()
                                                       ? nullptr
                                                       : options.config_file.c_str()) != 0) {
    throw error(errc::connect_failed, "cannot read the ssh_config file '" + options.config_file +
                                          "': " + libssh_error(core.handle));
  }
  // Explicit settings after the config file, so that they win over it.
  if (!options.user.empty()) ssh_options_set(core.handle, SSH_OPTIONS_USER, options.user.c_str());
  if (options.port) {
    const unsigned int port = static_cast<unsigned int>(*options.port);
    ssh_options_set(core.handle, SSH_OPTIONS_PORT, &port);
  }
  if (!options.known_hosts_file.empty()) {
    ssh_options_set(core.handle, SSH_OPTIONS_KNOWNHOSTS, options.known_hosts_file.c_str());
    ssh_options_set(core.handle, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null");
  }
  const double timeout = std::max(0.001, options.connect_timeout.count());
  long whole = static_cast<long>(timeout);
  long micros = static_cast<long>((timeout - static_cast<double>(whole)) * 1e6);
  ssh_options_set(core.handle, SSH_OPTIONS_TIMEOUT, &whole);
  ssh_options_set(core.handle, SSH_OPTIONS_TIMEOUT_USEC, &micros);
  // libssh's automatic key login asks the agent too: use_agent = false must keep it away.
  if (!options.use_agent) ssh_options_set(core.handle, SSH_OPTIONS_IDENTITY_AGENT, "/nonexistent");
  // Command lines are small writes that must leave at once, as OpenSSH does for sessions.
  int nodelay = 1;
  ssh_options_set(core.handle, SSH_OPTIONS_NODELAY, &nodelay);

  core.display = option_text(core.handle, SSH_OPTIONS_USER, "?") + "@" +
                 option_text(core.handle, SSH_OPTIONS_HOST, core.host) + ":" +
                 std::to_string(port_of(core.handle));
}

void connect_and_login(connection::core& core, const connect_options& options) {
  login steps(core, options);
  while (!steps.advance(login::clock::now())) {
    pollfd socket = steps.wanted();
    if (loop::poll_until(std::span(&socket, 1), steps.deadline()) < 0) {
      throw error(errc::connect_failed,
                  "cannot connect to " + core.display +
                      ": waiting for the server failed: " + std::strerror(errno));
    }
  }
}

}  // namespace tether::ssh
