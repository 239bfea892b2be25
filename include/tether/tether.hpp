#pragma once

#include "tether/error.hpp"
#include "tether/output_stream.hpp"
#include "tether/quote.hpp"
#include "tether/result.hpp"
#include "tether/fleet.hpp"
#include "tether/session.hpp"
#include "tether/ssh.hpp"
#include "tether/ssh_channel.hpp"
