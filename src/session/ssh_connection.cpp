#include "tether/error.hpp"
#include "tether/ssh.hpp"
#include "transport/libssh_channel_transport.hpp"
#include "transport/libssh_connection.hpp"

namespace tether::ssh {

connection::connection(std::string_view host, connect_options options)
    : core_(std::make_shared<core>()) {
  core_->host = std::string(host);
  connect_and_login(*core_, options);
}

connection::connection(connection&&) noexcept = default;
connection& connection::operator=(connection&&) noexcept = default;
connection::~connection() = default;

exec_result connection::exec(std::string_view command, const exec_options& options) {
  if (!core_) throw error(errc::session_closed, "the connection was moved from");
  return transport::run_exec(*core_, command, options);
}

const std::string& connection::host() const {
  static const std::string none;
  return core_ ? core_->host : none;
}

}  // namespace tether::ssh
