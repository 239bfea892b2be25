#pragma once

#include <string>
#include <string_view>

#include "tether/session.hpp"

namespace tether::fleet_detail {

/// Set the shell of `options` from a fleet target as a user writes it: "local", "local:CMD",
/// "ssh://...", "ssh+native://...", or a bare "[user@]host[:port]" meaning ssh://. Throws
/// errc::invalid_argument with a message naming the target.
void apply_target(std::string_view spec, session_options& options);

}  // namespace tether::fleet_detail
