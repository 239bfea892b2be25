#include "loop/poll_set.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <tuple>

namespace {

using namespace std::chrono_literals;
using tether::loop::clock;
using tether::loop::poll_set;

struct test_pipe {
  test_pipe() { EXPECT_EQ(::pipe2(fds.data(), O_CLOEXEC | O_NONBLOCK), 0); }
  ~test_pipe() {
    for (const int fd : fds) {
      if (fd >= 0) ::close(fd);
    }
  }
  test_pipe(const test_pipe&) = delete;
  test_pipe& operator=(const test_pipe&) = delete;
  [[nodiscard]] int reader() const { return fds[0]; }
  [[nodiscard]] int writer() const { return fds[1]; }
  void put(const char* text) const { ASSERT_EQ(::write(writer(), text, 1), 1); }
  std::array<int, 2> fds{};
};

TEST(poll_set, reports_which_descriptor_is_ready_as_poll_does) {
  test_pipe quiet;
  test_pipe busy;
  poll_set waits;
  std::array<pollfd, 3> fds{
      {{quiet.reader(), POLLIN, 0}, {-1, POLLIN, 0}, {busy.reader(), POLLIN, 0}}};
  busy.put("x");
  ASSERT_EQ(waits.wait(fds, clock::now() + 5s, 0), 1);
  EXPECT_EQ(fds[0].revents, 0);
  EXPECT_EQ(fds[1].revents, 0);
  EXPECT_EQ(fds[2].revents, POLLIN);
  // Level-triggered, like poll(): still ready while unread, from the kept registration.
  fds[2].revents = 0;
  EXPECT_EQ(waits.wait(fds, clock::now() + 5s, 0), 1);
  EXPECT_EQ(fds[2].revents, POLLIN);
}

TEST(poll_set, a_passed_deadline_ends_the_wait_with_nothing_ready) {
  test_pipe quiet;
  poll_set waits;
  std::array<pollfd, 1> fds{{{quiet.reader(), POLLIN, 0}}};
  for (const auto in : {20ms, 60ms}) {
    const auto deadline = clock::now() + in;
    EXPECT_EQ(waits.wait(fds, deadline, 0), 0);
    EXPECT_GE(clock::now(), deadline);  // 0 means the deadline came, not an early wake
  }
  EXPECT_EQ(waits.wait(fds, clock::now() - 1s, 0), 0);
  EXPECT_EQ(fds[0].revents, 0);
}

// The thread's timer, armed for an earlier wait's deadline, wakes a later wait before its own:
// that wait must look again and go on waiting.
TEST(poll_set, a_wait_the_timer_wakes_early_waits_on_to_its_own_deadline) {
  test_pipe busy;
  test_pipe quiet;
  poll_set waits;
  std::array<pollfd, 1> ready{{{busy.reader(), POLLIN, 0}}};
  busy.put("x");
  ASSERT_EQ(waits.wait(ready, clock::now() + 20ms, 0), 1);  // armed for 20 ms, not used
  std::array<pollfd, 1> idle{{{quiet.reader(), POLLIN, 0}}};
  const auto deadline = clock::now() + 200ms;
  EXPECT_EQ(waits.wait(idle, deadline, 0), 0);
  EXPECT_GE(clock::now(), deadline);
}

TEST(poll_set, a_closed_writer_shows_as_a_hang_up) {
  test_pipe ended;
  poll_set waits;
  std::array<pollfd, 1> fds{{{ended.reader(), POLLIN, 0}}};
  ::close(ended.fds[1]);
  ended.fds[1] = -1;
  ASSERT_EQ(waits.wait(fds, clock::now() + 5s, 0), 1);
  EXPECT_NE(fds[0].revents & POLLHUP, 0);
}

TEST(poll_set, events_asked_for_anew_are_watched) {
  test_pipe output;
  poll_set waits;
  std::array<pollfd, 2> fds{{{output.reader(), POLLIN, 0}, {output.writer(), 0, 0}}};
  EXPECT_EQ(waits.wait(fds, clock::now() + 10ms, 0), 0);
  fds[1].events = POLLOUT;  // the same descriptors, another event: room to write
  ASSERT_EQ(waits.wait(fds, clock::now() + 5s, 0), 1);
  EXPECT_EQ(fds[1].revents, POLLOUT);
}

// A descriptor closed and its number given to another file: a new generation makes the wait
// watch the new file (the old registration went with the old file).
TEST(poll_set, a_new_generation_watches_the_file_a_number_now_names) {
  poll_set waits;
  auto first = std::make_unique<test_pipe>();
  const int number = first->reader();
  std::array<pollfd, 1> fds{{{number, POLLIN, 0}}};
  EXPECT_EQ(waits.wait(fds, clock::now() + 10ms, 1), 0);
  first.reset();
  test_pipe second;  // usually takes the number itself; else it is made to
  const bool duplicated = second.reader() != number;
  if (duplicated) {
    ASSERT_EQ(::dup3(second.reader(), number, O_CLOEXEC), number);
  }
  second.put("x");
  ASSERT_EQ(waits.wait(fds, clock::now() + 5s, 2), 1);
  EXPECT_EQ(fds[0].revents, POLLIN);
  if (duplicated) ::close(number);
}

TEST(poll_set, descriptors_epoll_refuses_are_waited_for_by_poll) {
  // A regular file: epoll cannot watch it; poll() calls it always ready.
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  test_pipe quiet;
  poll_set waits;
  std::array<pollfd, 2> fds{{{quiet.reader(), POLLIN, 0}, {::fileno(file), POLLIN, 0}}};
  ASSERT_EQ(waits.wait(fds, clock::now() + 5s, 0), 1);
  EXPECT_EQ(fds[1].revents, POLLIN);
  // A descriptor that is not open: poll() says so.
  std::array<pollfd, 1> closed{{{quiet.reader() + 1000, POLLIN, 0}}};
  ASSERT_EQ(waits.wait(closed, clock::now() + 5s, 0), 1);
  EXPECT_EQ(closed[0].revents, POLLNVAL);
  std::fclose(file);
}

// The thread's deadline timer stays armed for a later deadline than a wait needs: it must be
// brought forward, or this wait would last an hour.
TEST(poll_set, a_nearer_deadline_than_the_timer_is_armed_for_is_kept) {
  test_pipe busy;
  test_pipe quiet;
  poll_set waits;
  std::array<pollfd, 1> ready{{{busy.reader(), POLLIN, 0}}};
  busy.put("x");
  ASSERT_EQ(waits.wait(ready, clock::now() + 1h, 0), 1);
  std::array<pollfd, 1> idle{{{quiet.reader(), POLLIN, 0}}};
  EXPECT_EQ(waits.wait(idle, clock::now() + 30ms, 0), 0);
  EXPECT_EQ(waits.wait(idle, clock::now() + 30ms, 0), 0);
}

// Sessions on one thread share its timer: each one's deadline holds whatever the others armed.
TEST(poll_set, waits_of_two_sets_on_one_thread_each_end_at_their_deadline) {
  test_pipe first_quiet;
  test_pipe second_quiet;
  poll_set first;
  poll_set second;
  std::array<pollfd, 1> first_fds{{{first_quiet.reader(), POLLIN, 0}}};
  std::array<pollfd, 1> second_fds{{{second_quiet.reader(), POLLIN, 0}}};
  for (int round = 0; round < 3; ++round) {
    for (auto [set, fds, in] :
         {std::tuple{&first, &first_fds, 20ms}, std::tuple{&second, &second_fds, 40ms},
          std::tuple{&first, &first_fds, 10ms}}) {
      const auto deadline = clock::now() + in;
      EXPECT_EQ(set->wait(*fds, deadline, 0), 0);
      EXPECT_GE(clock::now(), deadline);
    }
  }
}

// A set used on one thread, then on another (a session handed over): the second thread's
// deadlines hold, and its readiness is still seen.
TEST(poll_set, a_set_waited_on_from_another_thread_keeps_its_deadlines) {
  test_pipe output;
  poll_set waits;
  std::array<pollfd, 1> fds{{{output.reader(), POLLIN, 0}}};
  std::thread([&] { EXPECT_EQ(waits.wait(fds, clock::now() + 20ms, 0), 0); }).join();
  std::thread([&] {
    EXPECT_EQ(waits.wait(fds, clock::now() + 20ms, 0), 0);
    output.put("x");
    EXPECT_EQ(waits.wait(fds, std::nullopt, 0), 1);
  }).join();
  EXPECT_EQ(waits.wait(fds, clock::now() + 1h, 0), 1);
}

std::chrono::microseconds cpu_time_of_this_thread() {
  rusage usage{};
  ::getrusage(RUSAGE_THREAD, &usage);
  return std::chrono::seconds(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         std::chrono::microseconds(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
}

// A set that last waited on another thread still has that thread's timer registered; while that
// timer lives (another set holds it) and fires, this thread cannot take its expiry: kept, the
// registration would leave the wait spinning on it.
TEST(poll_set, a_timer_of_the_thread_a_set_left_does_not_make_it_spin) {
  test_pipe first_busy;
  test_pipe output;
  poll_set holder;  // keeps the first thread's timer alive after that thread ends
  poll_set moved;
  std::array<pollfd, 1> busy_fds{{{first_busy.reader(), POLLIN, 0}}};
  std::array<pollfd, 1> fds{{{output.reader(), POLLIN, 0}}};
  std::thread([&] {
    EXPECT_EQ(moved.wait(fds, clock::now() + 1ms, 0), 0);  // registers this thread's timer
    first_busy.put("x");
    EXPECT_EQ(holder.wait(busy_fds, clock::now() + 20ms, 0), 1);  // leaves it armed: 20 ms
  }).join();
  std::thread writer([&] {
    std::this_thread::sleep_for(300ms);
    output.put("x");
  });
  // The first thread's timer fires while this wait runs (no deadline of its own).
  const auto cpu_before = cpu_time_of_this_thread();
  EXPECT_EQ(moved.wait(fds, std::nullopt, 0), 1);
  writer.join();
  // Waiting takes next to no CPU; spinning would have taken most of the 280 ms.
  EXPECT_LT(cpu_time_of_this_thread() - cpu_before, 100ms);
}

}  // namespace
