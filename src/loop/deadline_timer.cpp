#include "loop/deadline_timer.hpp"

#include <sys/timerfd.h>
#include <unistd.h>

#include <atomic>
#include <ctime>
#include <memory>

namespace tether::loop {

namespace {

std::atomic<std::uint64_t> timers_made{0};

// This thread's timer, as long as someone holds it, and its serial (0: none made yet). A
// serial, not an address, tells whether a timer is this thread's: a freed timer's address may
// come back for another thread's.
thread_local std::weak_ptr<deadline_timer> this_threads_timer;
thread_local std::uint64_t this_threads_serial = 0;

}  // namespace

deadline_timer::deadline_timer(transport::unique_fd fd, std::uint64_t serial)
    : fd_(std::move(fd)), serial_(serial) {}

std::shared_ptr<deadline_timer> deadline_timer::of_this_thread() {
  if (auto timer = this_threads_timer.lock()) return timer;
  // steady_clock is CLOCK_MONOTONIC (libstdc++ and libc++ on Linux): deadlines compare as is.
  transport::unique_fd fd(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
  if (!fd) return nullptr;
  std::shared_ptr<deadline_timer> timer(new deadline_timer(std::move(fd), ++timers_made));
  this_threads_timer = timer;
  this_threads_serial = timer->serial();
  return timer;
}

bool deadline_timer::is_this_threads(const deadline_timer& timer) {
  return timer.serial() == this_threads_serial;
}

bool deadline_timer::cover(clock::time_point deadline) {
  if (armed_ && *armed_ <= deadline) return true;
  const auto ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(deadline.time_since_epoch()).count();
  itimerspec when{};
  when.it_value.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
  when.it_value.tv_nsec = static_cast<long>(ns % 1'000'000'000);
  // A zero it_value would disarm it: the epoch's deadline (due already) becomes 1 ns.
  if (when.it_value.tv_sec == 0 && when.it_value.tv_nsec == 0) when.it_value.tv_nsec = 1;
  if (::timerfd_settime(fd_.get(), TFD_TIMER_ABSTIME, &when, nullptr) != 0) {
    armed_.reset();
    return false;
  }
  armed_ = deadline;
  return true;
}

void deadline_timer::fired() {
  std::uint64_t expirations = 0;
  // Nothing to read when another wait on this thread took it first: fine either way.
  [[maybe_unused]] const ssize_t got = ::read(fd_.get(), &expirations, sizeof expirations);
  armed_.reset();
}

}  // namespace tether::loop
