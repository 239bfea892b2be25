// Large outputs: no deadlock when both streams are full at once, and streaming keeps memory
// bounded however much a command prints.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "helpers/hygiene_fixture.hpp"
#include "tether/tether.hpp"

namespace tether::test {
namespace {

using big_output = hygiene_fixture;

constexpr std::size_t mib = 1024 * 1024;

// Resident memory now (not the peak, which earlier tests in this process may have raised).
long resident_kib() {
  const std::string status = read_file("/proc/self/statm");
  const long pages = std::stol(status.substr(status.find(' ') + 1));
  return pages * (::sysconf(_SC_PAGESIZE) / 1024);
}

TEST_F(big_output, hundred_mib_on_both_streams_at_once) {
  for (const char* shell_name : {"dash", "bash"}) {
    session shell({.shell_argv = {shell_name}});
    const auto done = shell.run(
        "head -c 104857600 /dev/zero | tr '\\0' e >&2 & head -c 104857600 /dev/zero | tr '\\0' o; "
        "wait");
    EXPECT_EQ(done.out.size(), 100 * mib) << shell_name;
    EXPECT_EQ(done.err.size(), 100 * mib) << shell_name;
    EXPECT_EQ(done.out.find_first_not_of('o'), std::string::npos);
    EXPECT_EQ(done.err.find_first_not_of('e'), std::string::npos);
    EXPECT_EQ(done.exit_status, 0);
  }
}

TEST_F(big_output, big_varied_output_is_byte_exact) {
  // Varied bytes, so a byte put in the wrong place by the bulk read path would show.
  std::string expected;
  for (int i = 1; i <= 3'000'000; ++i) expected += std::to_string(i) + '\n';
  for (const char* shell_name : {"dash", "bash"}) {
    session shell({.shell_argv = {shell_name}});
    const auto& done = shell.run("seq 1 3000000; seq 1 3000000 >&2");
    EXPECT_EQ(done.out.size(), expected.size()) << shell_name;
    EXPECT_TRUE(done.out == expected) << shell_name << ": stdout differs";
    EXPECT_TRUE(done.err == expected) << shell_name << ": stderr differs";
    EXPECT_EQ(shell.run("echo after").out, "after\n");
  }
}

// A big result reserves address space ahead of its output (src/session/output_growth.cpp).
// Where a limit leaves no room for that, the output must still be captured whole.
TEST_F(big_output, a_big_output_is_captured_where_address_space_is_scarce) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "sanitizers map terabytes of shadow memory; an address space limit breaks them";
#else
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Room for the output and its growth, not for a 512 MiB reservation.
    const std::string status = read_file("/proc/self/statm");
    const auto mapped = static_cast<rlim_t>(std::stol(status)) * ::sysconf(_SC_PAGESIZE);
    const rlimit limit{mapped + 300 * mib, mapped + 300 * mib};
    if (::setrlimit(RLIMIT_AS, &limit) != 0) ::_exit(3);
    try {
      session shell({.shell_argv = {"dash"}});
      const auto& done = shell.run("head -c 41943040 /dev/zero");
      ::_exit(done.out.size() == 40 * mib && done.exit_status == 0 ? 0 : 1);
    } catch (...) {
      ::_exit(2);
    }
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: output lost or cut, 2: the session threw, 3: setrlimit";
#endif
}

TEST_F(big_output, one_gib_through_the_streaming_callback_in_bounded_memory) {
  session shell({.shell_argv = {"dash"}});
  std::size_t out_bytes = 0;
  std::size_t err_bytes = 0;
  bool only_zeros = true;
  const long before_kib = resident_kib();
  long most_kib = before_kib;
  std::size_t next_sample = 0;
  run_options options;
  options.on_output = [&](output_stream stream, std::string_view bytes) {
    if (stream == output_stream::out) {
      out_bytes += bytes.size();
      if (out_bytes >= next_sample) {  // sample the resident size every 32 MiB
        most_kib = std::max(most_kib, resident_kib());
        next_sample += 32 * mib;
      }
      only_zeros = only_zeros && bytes.find_first_not_of('\0') == std::string_view::npos;
    } else {
      err_bytes += bytes.size();
    }
  };
  const auto done = shell.run("head -c 1073741824 /dev/zero; echo done >&2", options);
  const long grown_kib = most_kib - before_kib;
  EXPECT_EQ(out_bytes, 1024 * mib);
  EXPECT_EQ(err_bytes, 5U);
  EXPECT_TRUE(only_zeros);
  EXPECT_EQ(done.out.size(), 0U);
  EXPECT_EQ(done.exit_status, 0);
  EXPECT_LT(grown_kib, 64 * 1024) << "streaming 1 GiB grew the resident size by " << grown_kib
                                  << " KiB";
}

TEST_F(big_output, output_cap_bounds_memory_of_a_big_output) {
  session shell({.shell_argv = {"dash"}});
  run_options options;
  options.output_cap = 1000;
  const auto done = shell.run("head -c 268435456 /dev/zero", options);
  EXPECT_EQ(done.out.size(), 1000U);
  EXPECT_TRUE(done.out_truncated);
  EXPECT_EQ(done.exit_status, 0);
}

}  // namespace
}  // namespace tether::test
