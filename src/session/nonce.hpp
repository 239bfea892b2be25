#pragma once

#include "protocol/command_encoder.hpp"

namespace tether::session_detail {

/// A fresh end marker for one command: about 59 bits from the kernel's CSPRNG as 10
/// alphanumerics, so a command's output cannot guess (and so forge) the end of its own output.
protocol::nonce make_nonce();

}  // namespace tether::session_detail
