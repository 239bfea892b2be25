#include "transport/pipe_write.hpp"

#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <ctime>
#include <string>
#include <string_view>

namespace {

using tether::transport::sigpipe_avoidance;
using tether::transport::write_without_sigpipe;

class pipe_write : public testing::TestWithParam<sigpipe_avoidance> {};

bool sigpipe_pending() {
  sigset_t pending;
  ::sigpending(&pending);
  return ::sigismember(&pending, SIGPIPE) == 1;
}

// With SIGPIPE's default action a raised one would end this test program.
TEST_P(pipe_write, a_pipe_without_reader_gives_epipe_not_sigpipe) {
  std::array<int, 2> fds{};
  ASSERT_EQ(::pipe2(fds.data(), O_CLOEXEC), 0);
  ::close(fds[0]);
  errno = 0;
  EXPECT_EQ(write_without_sigpipe(fds[1], "lost", GetParam()), -1);
  EXPECT_EQ(errno, EPIPE);
  EXPECT_FALSE(sigpipe_pending());
  ::close(fds[1]);
}

TEST_P(pipe_write, a_pipe_with_a_reader_gets_the_bytes) {
  std::array<int, 2> fds{};
  ASSERT_EQ(::pipe2(fds.data(), O_CLOEXEC), 0);
  EXPECT_EQ(write_without_sigpipe(fds[1], "kept", GetParam()), 4);
  std::array<char, 8> got{};
  ASSERT_EQ(::read(fds[0], got.data(), got.size()), 4);
  EXPECT_EQ(std::string_view(got.data(), 4), "kept");
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST_P(pipe_write, a_sigpipe_the_program_had_pending_stays_pending) {
  sigset_t pipe_only;
  sigset_t before;
  ::sigemptyset(&pipe_only);
  ::sigaddset(&pipe_only, SIGPIPE);
  ::pthread_sigmask(SIG_BLOCK, &pipe_only, &before);
  ::raise(SIGPIPE);
  std::array<int, 2> fds{};
  ASSERT_EQ(::pipe2(fds.data(), O_CLOEXEC), 0);
  ::close(fds[0]);
  EXPECT_EQ(write_without_sigpipe(fds[1], "lost", GetParam()), -1);
  EXPECT_TRUE(sigpipe_pending());
  const timespec no_wait{};
  ::sigtimedwait(&pipe_only, nullptr, &no_wait);
  ::pthread_sigmask(SIG_SETMASK, &before, nullptr);
  ::close(fds[1]);
}

// Linux 6.18 has RWF_NOSIGNAL: there the flag must be what is used (a wrong value would fall
// back to the guard unseen, and keep its cost).
TEST(pipe_write_way, the_kernel_s_nosignal_flag_is_used_where_it_has_one) {
  utsname system{};
  ASSERT_EQ(::uname(&system), 0);
  int major = 0;
  int minor = 0;
  ASSERT_EQ(std::sscanf(system.release, "%d.%d", &major, &minor), 2);
  std::array<int, 2> fds{};
  ASSERT_EQ(::pipe2(fds.data(), O_CLOEXEC), 0);
  EXPECT_EQ(write_without_sigpipe(fds[1], "x"), 1);
  const bool has_flag = major > 6 || (major == 6 && minor >= 18);
  EXPECT_EQ(tether::transport::best_sigpipe_avoidance() == sigpipe_avoidance::nosignal_flag,
            has_flag)
      << system.release;
  ::close(fds[0]);
  ::close(fds[1]);
}

std::string way_name(const testing::TestParamInfo<sigpipe_avoidance>& way) {
  return way.param == sigpipe_avoidance::guard ? "guard" : "nosignal_flag";
}

// On a kernel without RWF_NOSIGNAL the flag variant falls back to the guard: both must hold.
INSTANTIATE_TEST_SUITE_P(ways, pipe_write,
                         testing::Values(sigpipe_avoidance::nosignal_flag,
                                         sigpipe_avoidance::guard),
                         way_name);

}  // namespace
