#include "protocol/command_encoder.hpp"

#include <gtest/gtest.h>

namespace {

using tether::protocol::encode_command;
using tether::protocol::nonce;
using tether::protocol::printf_format_for;

const nonce marker{"aaaa1111", "bbbb2222"};

TEST(command_encoder, command_is_one_short_line) {
  EXPECT_EQ(encode_command("true", marker), "__T 'true' aaaa1111 bbbb2222\n");
}

TEST(command_encoder, single_quotes_are_escaped) {
  EXPECT_EQ(encode_command("echo 'a b'", marker), "__T 'echo '\\''a b'\\''' aaaa1111 bbbb2222\n");
}

TEST(command_encoder, joined_marker_never_appears_in_the_line) {
  // A pty may echo the line back: the marker as printed must not be in it.
  const auto line = encode_command("echo aaaa1111bbbb2222", marker);
  EXPECT_EQ(line.find(marker.joined(), line.find(' ') + 30), std::string::npos);
}

TEST(command_encoder, stdin_data_uses_the_stdin_entry_point) {
  EXPECT_EQ(encode_command("cat", marker, std::string("x")), "__Ti 'cat' 'x' aaaa1111 bbbb2222\n");
}

TEST(command_encoder, printf_format_escapes_what_printf_interprets) {
  EXPECT_EQ(printf_format_for("100%"), "100%%");
  EXPECT_EQ(printf_format_for("a\\nb"), "a\\\\nb");
  EXPECT_EQ(printf_format_for(std::string("\0", 1)), "\\000");
  EXPECT_EQ(printf_format_for("\xff"), "\\377");
  EXPECT_EQ(printf_format_for("line\n"), "line\n");
}

TEST(command_encoder, prelude_defines_the_entry_points) {
  const auto text = tether::protocol::prelude();
  EXPECT_NE(text.find("__T()"), std::string_view::npos);
  EXPECT_NE(text.find("__Ti()"), std::string_view::npos);
  EXPECT_EQ(text.back(), '\n');
}

}  // namespace
