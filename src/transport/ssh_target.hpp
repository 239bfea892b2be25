#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tether::transport {

/// Where an ssh:// target points. Empty user or port means "as ssh_config says".
struct ssh_target {
  std::string user;
  std::string host;  ///< a host name, an address, or an ssh_config alias; IPv6 without brackets
  std::optional<int> port;
};

/// Parse `ssh://[user@]host[:port]` (IPv6 as `ssh://[::1]:22`). Returns nullopt and sets
/// `why` for anything else; never throws. Pure: no lookups.
std::optional<ssh_target> parse_ssh_target(std::string_view text, std::string& why);

}  // namespace tether::transport
