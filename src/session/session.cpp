#include "tether/session.hpp"

#include "session/session_core.hpp"
#include "tether/quote.hpp"
#include "transport/libssh_connection.hpp"

namespace tether {

using session_detail::session_core;

struct session::impl {
  session_core core;
  result last;

  template <typename... Args>
  explicit impl(Args&&... args) : core(std::forward<Args>(args)...) {
    core.begin_start();
    core.drive();
    auto [done, failure] = core.take_outcome();
    if (failure) throw *failure;
  }

  result run(std::string_view command, const run_options& options) {
    core.begin_command(command, options);
    core.drive();
    auto [done, failure] = core.take_outcome();
    if (failure) throw *failure;
    return std::move(done);
  }

  void stop() noexcept { core.close(); }
};

session::session(session_options options) : impl_(std::make_unique<impl>(std::move(options))) {}

session::session(ssh::connection& connection, session_options options) {
  if (!connection.shared_core()) throw error(errc::session_closed, "the connection was moved from");
  if (!options.target.empty()) {
    throw error(errc::invalid_argument, "a session on a connection takes no target");
  }
  impl_ = std::make_unique<impl>(connection.shared_core(), std::move(options));
}

session::session(std::string_view shell_command, seconds timeout)
    : session(session_options{.shell_command = std::string(shell_command), .timeout = timeout}) {}

session::session(session&&) noexcept = default;
session& session::operator=(session&&) noexcept = default;
session::~session() = default;

const result& session::run(std::string_view command, const run_options& options) {
  if (!impl_) throw error(errc::session_closed, "the session was moved from");
  try {
    impl_->last = impl_->run(command, options);
  } catch (const error& failure) {
    impl_->last = failure.partial();
    throw;
  }
  return impl_->last;
}

const result& session::run(std::string_view command, const run_options& options,
                           std::error_code& ec) {
  ec.clear();
  try {
    return run(command, options);
  } catch (const error& failure) {
    ec = failure.code();
    if (impl_) {
      if (impl_->last.error.empty()) impl_->last.error = failure.what();
      return impl_->last;
    }
    static thread_local result moved_from;
    moved_from = failure.partial();
    moved_from.error = failure.what();
    return moved_from;
  }
}

const result& session::run_argv(std::initializer_list<std::string_view> argv,
                                const run_options& options) {
  return run(shell_join(argv), options);
}

const result& session::run_argv(const std::vector<std::string>& argv, const run_options& options) {
  return run(shell_join(argv), options);
}

const result& session::last() const {
  static const result none;
  return impl_ ? impl_->last : none;
}

void session::set_timeout(seconds timeout) {
  if (impl_) impl_->core.set_timeout(timeout);
}

seconds session::timeout() const {
  return impl_ ? impl_->core.timeout() : seconds{0};
}

bool session::alive() const {
  return impl_ && impl_->core.alive();
}

const std::string& session::target() const {
  static const std::string none;
  return impl_ ? impl_->core.target() : none;
}

int session::shell_pid() const {
  return impl_ ? impl_->core.shell_pid() : -1;
}

bool session::shell_is_local() const {
  return impl_ && impl_->core.shell_is_local();
}

void session::close() noexcept {
  if (impl_) impl_->stop();
}

}  // namespace tether
