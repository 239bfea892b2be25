#pragma once

#include <stdexcept>
#include <string>
#include <system_error>

#include "tether/result.hpp"

namespace tether {

/// Failures of Tether's machinery. A command that fails is NOT one of these: its exit status is
/// in its result.
enum class errc {
  spawn_failed = 1,   ///< the shell program could not be started (missing, not executable)
  start_failed,       ///< the shell started but never answered the start-up handshake
  shell_exited,       ///< the shell ended while a command ran, or before it could be sent
  session_closed,     ///< run() on a session that was closed or whose shell has died
  io_failed,          ///< reading or writing the shell's pipes failed unexpectedly
  protocol_error,     ///< the shell's output broke the framing (a bug or a hostile shell)
  invalid_argument,   ///< an option or argument is out of range
  connect_failed,     ///< SSH: the TCP connection or the key exchange failed or timed out
  host_key_rejected,  ///< SSH: the server's host key is unknown or has changed
  auth_failed,        ///< SSH: no authentication method was accepted
};

const std::error_category& error_category() noexcept;
std::error_code make_error_code(errc e) noexcept;

/// What Tether throws. `partial()` keeps everything the command produced before the failure:
/// no output is ever lost to an exception.
class error : public std::system_error {
 public:
  error(errc code, std::string message, result partial = {});
  /// The message alone, without the category's generic text.
  [[nodiscard]] const char* what() const noexcept override { return message_.c_str(); }
  [[nodiscard]] const result& partial() const noexcept { return partial_; }

 private:
  std::string message_;
  result partial_;
};

}  // namespace tether

template <>
struct std::is_error_code_enum<tether::errc> : std::true_type {};
