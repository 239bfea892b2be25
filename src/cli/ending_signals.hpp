#pragma once

#include <signal.h>

#include <cstddef>
#include <iterator>

namespace tether::cli {

/// The signals that end tether from outside (Ctrl-C, kill, a closed terminal). Whoever catches
/// them catches all of them, so that no way of ending tether leaves the sessions' commands
/// running on.
inline constexpr int ending_signals[] = {SIGINT, SIGTERM, SIGHUP};
inline constexpr std::size_t ending_signal_count = std::size(ending_signals);

}  // namespace tether::cli
