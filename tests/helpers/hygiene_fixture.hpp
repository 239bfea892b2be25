#pragma once

#include <gtest/gtest.h>

#include "helpers/process_checks.hpp"

namespace tether::test {

/// Every integration test ends by checking that it leaked no descriptor and left no child
/// process (running or zombie) behind, as libuv's tests do.
class hygiene_fixture : public ::testing::Test {
 protected:
  void SetUp() override { descriptors_before_ = open_descriptors(); }
  void TearDown() override {
    EXPECT_EQ(open_descriptors(), descriptors_before_) << "leaked descriptors";
    EXPECT_EQ(child_processes(), std::vector<std::string>{}) << "children left behind";
  }

 private:
  std::vector<int> descriptors_before_;
};

/// The same for tests parameterised over a value (a shell, a transport).
template <typename T>
class hygiene_fixture_with_param : public hygiene_fixture,
                                   public ::testing::WithParamInterface<T> {};

}  // namespace tether::test
