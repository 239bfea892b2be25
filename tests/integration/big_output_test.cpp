// Large outputs: no deadlock when both streams are full at once, and streaming keeps memory
// bounded however much a command prints.
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
