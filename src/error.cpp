#include "tether/error.hpp"

#include <utility>

namespace tether {

namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "tether"; }
  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::spawn_failed:
        return "the shell could not be started";
      case errc::start_failed:
        return "the shell did not start";
      case errc::shell_exited:
        return "the shell exited";
      case errc::session_closed:
        return "the session is closed";
      case errc::io_failed:
        return "reading or writing the shell failed";
      case errc::protocol_error:
        return "the shell's output broke the framing";
      case errc::invalid_argument:
        return "invalid argument";
      case errc::connect_failed:
        return "the SSH connection failed";
      case errc::host_key_rejected:
        return "the SSH host key was rejected";
      case errc::auth_failed:
        return "SSH authentication failed";
    }
    return "unknown tether error";
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const category instance;
  return instance;
}

std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

error::error(errc code, std::string message, result partial)
    : std::system_error(make_error_code(code)),
      message_(std::move(message)),
      partial_(std::move(partial)) {}

}  // namespace tether
