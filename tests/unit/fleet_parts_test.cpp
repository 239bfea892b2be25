#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fleet/line_splitter.hpp"
#include "fleet/target_spec.hpp"
#include "tether/error.hpp"

namespace tether::fleet_detail {
namespace {

std::vector<std::string> split(const std::vector<std::string>& chunks) {
  line_splitter splitter;
  std::vector<std::string> lines;
  const line_splitter::sink collect = [&](std::string_view line) { lines.emplace_back(line); };
  for (const auto& chunk : chunks) splitter.feed(chunk, collect);
  splitter.flush(collect);
  return lines;
}

TEST(line_splitter, gives_whole_lines_whatever_the_chunks) {
  using V = std::vector<std::string>;
  EXPECT_EQ(split({"a\nb\n"}), (V{"a\n", "b\n"}));
  EXPECT_EQ(split({"a", "b\nc", "\n"}), (V{"ab\n", "c\n"}));
  EXPECT_EQ(split({"x\n", "tail"}), (V{"x\n", "tail"}));
  EXPECT_EQ(split({"\n\n"}), (V{"\n", "\n"}));
  EXPECT_EQ(split({std::string("a\0b\n", 4)}), (V{std::string("a\0b\n", 4)}));
  EXPECT_EQ(split({}), V{});
}

TEST(line_splitter, cuts_an_endless_line_into_bounded_pieces) {
  const std::string big(200 * 1024, 'x');
  std::string joined;
  std::size_t longest = 0;
  line_splitter splitter;
  const line_splitter::sink collect = [&](std::string_view line) {
    joined += line;
    longest = std::max(longest, line.size());
  };
  for (std::size_t at = 0; at < big.size(); at += 1000)
    splitter.feed(big.substr(at, 1000), collect);
  splitter.flush(collect);
  EXPECT_EQ(joined, big);
  EXPECT_LE(longest, 65 * 1024U);
}

session_options parsed(const std::string& spec) {
  session_options options;
  apply_target(spec, options);
  return options;
}

TEST(target_spec, reads_every_kind_of_target) {
  EXPECT_EQ(parsed("local").shell_argv, std::vector<std::string>{"/bin/sh"});
  EXPECT_EQ(parsed("local:bash --norc").shell_command, "bash --norc");
  EXPECT_EQ(parsed("web1").target, "ssh://web1");
  EXPECT_EQ(parsed("fred@web1:2222").target, "ssh://fred@web1:2222");
  EXPECT_EQ(parsed("ssh://web1").target, "ssh://web1");
  EXPECT_EQ(parsed("ssh+native://fred@web1").target, "ssh+native://fred@web1");
  EXPECT_TRUE(parsed("web1").shell_argv.empty());
}

TEST(target_spec, refuses_what_it_cannot_read_naming_it) {
  for (const std::string bad : {"", "local:", "ftp://x", "web1:notaport", "ssh://", "a b"}) {
    try {
      parsed(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const error& failure) {
      EXPECT_EQ(failure.code(), errc::invalid_argument) << bad;
    }
  }
}

}  // namespace
}  // namespace tether::fleet_detail
