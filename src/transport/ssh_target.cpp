#include "transport/ssh_target.hpp"

#include <algorithm>
#include <charconv>

namespace tether::transport {

namespace {

// Characters that could turn a host or user into an ssh option or a shell word.
bool is_plain(std::string_view text) {
  return !text.empty() && text.front() != '-' && std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_' || c == ':' || c == '%';
  });
}

}  // namespace

std::optional<ssh_target> parse_ssh_target(std::string_view text, std::string& why) {
  constexpr std::string_view scheme = "ssh://";
  if (text.substr(0, scheme.size()) != scheme) {
    why = "an SSH target starts with ssh://";
    return std::nullopt;
  }
  std::string_view rest = text.substr(scheme.size());
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  ssh_target target;
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    target.user = std::string(rest.substr(0, at));
    rest = rest.substr(at + 1);
    if (!is_plain(target.user) || target.user.find(':') != std::string::npos) {
      why = "the user name in the SSH target is empty or has characters ssh would misread";
      return std::nullopt;
    }
  }
  std::string_view port_text;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) {
      why = "the SSH target has '[' without ']'";
      return std::nullopt;
    }
    target.host = std::string(rest.substr(1, close - 1));
    const auto after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        why = "the SSH target has text after ']' that is not :port";
        return std::nullopt;
      }
      port_text = after.substr(1);
    }
  } else {
    if (std::count(rest.begin(), rest.end(), ':') > 1) {
      why = "write an IPv6 address in brackets: ssh://[::1]:22";
      return std::nullopt;
    }
    const auto colon = rest.find(':');
    target.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) port_text = rest.substr(colon + 1);
  }
  if (!is_plain(target.host)) {
    why = "the host in the SSH target is empty or has characters ssh would misread";
    return std::nullopt;
  }
  if (!port_text.empty() || (rest.size() > 0 && rest.back() == ':')) {
    int port = 0;
    const auto [end, error] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (error != std::errc() || end != port_text.data() + port_text.size() || port < 1 ||
        port > 65535) {
      why = "the port in the SSH target must be a number from 1 to 65535";
      return std::nullopt;
    }
    target.port = port;
  }
  return target;
}

}  // namespace tether::transport
