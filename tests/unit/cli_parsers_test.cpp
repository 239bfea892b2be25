#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli/script_reader.hpp"
#include "cli/target_list.hpp"

namespace tether::cli {
namespace {

using V = std::vector<std::string>;

TEST(target_list, splits_on_commas_and_trims) {
  EXPECT_EQ(parse_target_list("web1,web2, fred@web3:22 ,,"), (V{"web1", "web2", "fred@web3:22"}));
  EXPECT_EQ(parse_target_list(""), V{});
}

TEST(hosts_file, one_target_per_line_with_comments) {
  std::string why;
  EXPECT_EQ(parse_hosts_file("# all\nweb1\n  web2  # second\r\n\n#\nlocal:bash", why),
            (V{"web1", "web2", "local:bash"}));
  EXPECT_EQ(why, "");
  EXPECT_EQ(parse_hosts_file("web1\nweb2 web3\n", why), V{});
  EXPECT_EQ(why, "line 2: one target per line, found 'web2 web3'");
  // A local shell's command line keeps its words, as it does in -H.
  EXPECT_EQ(parse_hosts_file("local:bash --norc\nweb1\n", why), (V{"local:bash --norc", "web1"}));
}

// `<<` in a quote, an arithmetic expansion or a comment opens nothing, even when a line further
// down happens to look like its delimiter: the commands stay apart (and a failure among them
// still stops the script).
TEST(split_script, a_quoted_or_arithmetic_shift_is_no_here_document) {
  const std::string script =
      "echo \"use <<EOF to start\"\n"
      "false\n"
      "echo $((1<<2))\n"
      "echo two # see <<EOF\n"
      "cat <<EOF\n"
      "x\n"
      "EOF\n"
      "echo '<<2'\n"
      "2\n";
  const auto commands = split_script(script, shell_says_complete);
  EXPECT_EQ(commands, (V{"echo \"use <<EOF to start\"", "false", "echo $((1<<2))",
                         "echo two # see <<EOF", "cat <<EOF\nx\nEOF", "echo '<<2'", "2"}));
}

TEST(split_script, crlf_line_ends_are_no_part_of_the_commands) {
  const auto commands = split_script(
      "f() {\r\n  echo in f\r\n}\r\nif true; then\r\n  f\r\nfi\r\ncat <<EOF\r\nx\r\nEOF\r\n"
      "echo done\r\n",
      shell_says_complete);
  EXPECT_EQ(commands, (V{"f() {\n  echo in f\n}", "if true; then\n  f\nfi", "cat <<EOF\nx\nEOF",
                         "echo done"}));
}

TEST(split_script, keeps_multi_line_commands_whole) {
  const std::string script =
      "#!/bin/sh\n"
      "cd /tmp\n"
      "\n"
      "for f in a b; do\n"
      "  echo \"$f\"\n"
      "done\n"
      "cat <<-'EOF' > out\n"
      "\tline $x\n"
      "\tEOF\n"
      "echo 'open\n"
      "quote'\n"
      "ls \\\n"
      "  -l\n"
      "true &&\n"
      "  false\n";
  EXPECT_EQ(
      split_script(script, shell_says_complete),
      (V{"cd /tmp", "for f in a b; do\n  echo \"$f\"\ndone", "cat <<-'EOF' > out\n\tline $x\n\tEOF",
         "echo 'open\nquote'", "ls \\\n  -l", "true &&\n  false"}));
}

TEST(split_script, shift_operators_quotes_and_comments_are_no_here_documents) {
  EXPECT_EQ(split_script("echo $((1<<2))\nfalse\necho 'use <<EOF here'\nx=1 # a<<b\ntrue\n",
                         shell_says_complete),
            (V{"echo $((1<<2))", "false", "echo 'use <<EOF here'", "x=1 # a<<b", "true"}));
}

TEST(split_script, bash_constructs_stay_whole) {
  EXPECT_EQ(split_script("function f {\n  echo hi\n}\nf\narr=(a\n b)\nfor ((i=0;i<2;i++)); do\n"
                         "  echo $i\ndone\n",
                         shell_says_complete),
            (V{"function f {\n  echo hi\n}", "f", "arr=(a\n b)",
               "for ((i=0;i<2;i++)); do\n  echo $i\ndone"}));
}

TEST(split_script, a_syntax_error_is_a_command_of_its_own_and_the_end_closes_the_rest) {
  EXPECT_EQ(split_script("fi\necho ok\nif true; then\n", shell_says_complete),
            (V{"fi", "echo ok", "if true; then"}));
}

}  // namespace
}  // namespace tether::cli
