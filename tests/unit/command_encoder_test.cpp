#include "protocol/command_encoder.hpp"
#include "protocol/handshake.hpp"

#include <gtest/gtest.h>

namespace {

using tether::protocol::encode_command;
using tether::protocol::nonce;
using tether::protocol::printf_format_for;

const nonce marker{"aaaa1111", "bbbb2222"};
// bash lines for a shell that reads its commands from descriptor 3 (stdin is /dev/null), and
// for one that reads them on stdin (a relay such as ssh).
const tether::protocol::line_style bash_on_fd3{
    .end_markers = tether::protocol::markers::stdout_only,
    .bash = true,
    .commands_on_stdin = false};
const tether::protocol::line_style bash_on_stdin{
    .end_markers = tether::protocol::markers::stdout_only, .bash = true};

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

TEST(command_encoder, bash_lines_run_the_command_at_the_top_level_and_print_the_marker) {
  EXPECT_EQ(encode_command("echo 'a b' $(x)", marker, std::nullopt, bash_on_fd3),
            "for _ in 1;{ \\eval 'echo '\\''a b'\\'' $(x)';}\n\\echo aaaa1111\"bbbb2222:$?\"\n");
}

TEST(command_encoder, bash_lines_keep_a_command_that_starts_with_a_dash_from_eval_s_options) {
  EXPECT_EQ(encode_command("-n (x)", marker, std::nullopt, bash_on_fd3),
            "for _ in 1;{ \\eval ' -n (x)';}\n\\echo aaaa1111\"bbbb2222:$?\"\n");
}

TEST(command_encoder, bash_lines_give_the_command_dev_null_when_commands_come_on_stdin) {
  EXPECT_EQ(encode_command("cat `f`", marker, std::nullopt, bash_on_stdin),
            "for _ in 1;{ \\eval 'cat `f`' </dev/null;}\n\\echo aaaa1111\"bbbb2222:$?\"\n");
}

TEST(command_encoder, bash_lines_print_the_stderr_marker_when_both_are_needed) {
  // The space before >&2: a nonce half of digits only would otherwise name a descriptor.
  const nonce digits{"aaaa1111", "22222"};
  EXPECT_EQ(encode_command("true", digits, std::nullopt, {.bash = true}),
            "for _ in 1;{ true\n} </dev/null\n\\echo aaaa1111\"22222:$?\";"
            "\\printf '%s%s\\n' aaaa1111 22222 >&2\n");
}

TEST(command_encoder, bash_lines_never_hold_the_joined_marker) {
  // A pty may echo the line back: the marker as printed must not be in it.
  // Only the command's own copy may be there, whether bash runs it with eval or without.
  for (const char* command : {"echo aaaa1111bbbb2222", "echo (aaaa1111bbbb2222)"}) {
    const auto line = encode_command(command, marker, std::nullopt, {.bash = true});
    const auto own = line.find(marker.joined());
    ASSERT_NE(own, std::string::npos) << line;
    EXPECT_EQ(line.find(marker.joined(), own + 1), std::string::npos) << line;
  }
}

TEST(command_encoder, bash_lines_carry_a_plain_command_without_eval) {
  EXPECT_EQ(encode_command("ls -l /tmp", marker, std::nullopt, bash_on_fd3),
            "for _ in 1;{ ls -l /tmp\n}\n\\echo aaaa1111\"bbbb2222:$?\"\n");
  EXPECT_EQ(encode_command("echo 'a b' \"$x\" | wc -c >f", marker, std::nullopt, bash_on_fd3),
            "for _ in 1;{ echo 'a b' \"$x\" | wc -c >f\n}\n\\echo aaaa1111\"bbbb2222:$?\"\n");
  EXPECT_EQ(encode_command("if", marker, std::nullopt, bash_on_fd3),
            "for _ in 1;{ \\eval 'if';}\n\\echo aaaa1111\"bbbb2222:$?\"\n");
  EXPECT_EQ(encode_command("cat", marker, std::nullopt, bash_on_stdin),
            "for _ in 1;{ cat\n} </dev/null\n\\echo aaaa1111\"bbbb2222:$?\"\n");
}

TEST(command_encoder, bash_runs_a_command_with_stdin_data_at_the_top_level_too) {
  // The data goes through a file that __tether_mk writes and __tether_rm removes; the command
  // itself runs as every bash command does, so its `declare` outlives it here too.
  EXPECT_EQ(encode_command("cat", marker, std::string("x%"), bash_on_stdin),
            "__tether_mk 'x%%'&&for _ in 1;{ \\eval 'cat' <\"$__tether_f\";}\n__tether_rm;"
            "\\echo aaaa1111\"bbbb2222:$__tether_s\"\n");
}

TEST(handshake, reads_the_pid_and_whether_the_shell_is_bash) {
  using tether::protocol::read_handshake;
  EXPECT_EQ(read_handshake("1234\n").pid, 1234);
  EXPECT_FALSE(read_handshake("1234\n").bash);
  const auto bash = read_handshake("Welcome!\nlast login: today\n77 bash\n");
  EXPECT_EQ(bash.pid, 77);
  EXPECT_TRUE(bash.bash);
  EXPECT_EQ(read_handshake("").pid, -1);
  EXPECT_EQ(read_handshake("no pid here\n").pid, -1);
  EXPECT_EQ(read_handshake("1234567890\n").pid, -1);  // more digits than a pid has
  EXPECT_FALSE(read_handshake("12 zsh\n").bash);
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
  // bash's trap breaks out of the one-pass loop a bash line runs its command in.
  EXPECT_NE(text.find("break 1000"), std::string_view::npos);
  EXPECT_EQ(text.back(), '\n');
}

}  // namespace
