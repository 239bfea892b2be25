#pragma once

#include <gtest/gtest.h>

#include "tether/session.hpp"

namespace tether::test {

/// The error a session start throws; a test failure (and an empty error) if it starts.
inline error start_error(session_options options) {
  try {
    session shell(std::move(options));
  } catch (const error& failure) {
    return failure;
  }
  ADD_FAILURE() << "the session started";
  return error(errc::invalid_argument, "the session started");
}

}  // namespace tether::test
