#include "protocol/plain_command.hpp"

#include <gtest/gtest.h>

namespace {

using tether::protocol::is_plain_command;

TEST(plain_command, lists_of_simple_commands_of_closed_words_are_plain) {
  for (const char* plain : {"true",
                            "echo hi",
                            "ls -l /tmp",
                            "make -j4 all",
                            "echo trailing ",
                            "  echo leading",
                            "-n",
                            "a=b",
                            "x+=1 y=2 env",
                            "echo *.[ch] [ab] 1a[ -a[ $x[ =a[",
                            "echo a,b c:d e+f g@h %1 ^x ~/x *.c [ab]?",
                            "echo iffy done2",
                            "echo 'a b' \"c d\"",
                            "echo 'it''s' \"$HOME\" ${PATH} $1 $? $# $@ $* $$ $-",
                            "echo \"a 'b' ; | & < > ( ) { } # ~\"",
                            "echo 'x\\y \"`$(z)` !'",
                            "echo 'if' \"fi\" i'n'",
                            "echo \"h\xc3\xa9\" '\xc3\xa9'",
                            "true; false",
                            "true;",
                            "sleep 1 &",
                            "a & b",
                            "a | b |& c",
                            "a && b || c",
                            "echo hi >f 2>&1",
                            "cat <f >>g 2>/dev/null",
                            "exec 3<>f 4>&- 5<&0 >|g",
                            "echo x &>f",
                            "echo x &>>f",
                            ">f",
                            "echo a>f;echo b",
                            "echo\ttab"}) {
    EXPECT_TRUE(is_plain_command(plain)) << plain;
  }
}

TEST(plain_command, what_bash_could_fail_to_parse_or_read_past_is_not) {
  for (const char* not_plain :
       {"", " ", "\t",
        // operators without a command on both sides, `;;` of case
        ";", "; true", "true;;", "true; ;", "true &;", "a |", "a &&", "a ||", "| a", "&& a",
        "a & & b", "a ;& b", "a;&>f", "a;;&b",
        // redirections without a word, here-documents and here-strings
        "echo >", "echo > ;", ">2>&1", "echo x <12>f", "echo >>>f", "cat <<EOF", "cat <<<x",
        "cat <<-EOF", "echo 2>",
        // quotes left open, and what a quote cannot hold here
        "echo 'x", "echo \"x", "echo \"a\\b\"", "echo \"`x`\"", "echo \"!x\"", "echo 'a\nb'",
        "echo \"a\nb\"", "echo 'a\0b'",
        // substitutions, expansions we do not check, escapes, comments
        "echo $(x)", "echo `x`", "echo $((1))", "echo ${x:-y}", "echo ${#x}", "echo ${x",
        "echo ${}", "echo ${1}", "echo $", "echo $'x'", "echo $\"x\"", "echo \"$\"", "echo a\\",
        "echo a\\b", "echo #c", "echo a#b", "echo !x", "echo \xc3\xa9",
        // newlines, grouping, subshells, functions, arrays, process substitution
        // `name[` where an assignment may stand reads on to its `]`, past blanks and lines
        "a[ b", "x=1 a[ b", "echo x; a[ b", "a[1]=x", "echo a_b[ x", "echo\nhi", "(true)", "{ x; }",
        "f() { x; }", "a=(1 2)", "diff <(a) b", "echo {a,b}",
        // reserved words, wherever they stand unquoted
        "if", "then", "elif", "else", "fi", "for", "in", "while", "until", "do", "done", "case",
        "esac", "select x", "function f", "time ls", "coproc cat", "[[ x ]]", "]]", "! true",
        "echo if", "later fi", "x while y", "echo done", "a; if", "a | time b", "a=b if"}) {
    EXPECT_FALSE(is_plain_command(not_plain)) << not_plain;
  }
}

TEST(plain_command, a_redirection_target_may_be_any_closed_word) {
  // Not a command position: reserved words are file names there (refusing them would be
  // harmless too, but they parse).
  EXPECT_TRUE(is_plain_command("echo x >'if'"));
  EXPECT_TRUE(is_plain_command("echo x >\"$f\""));
  EXPECT_FALSE(is_plain_command("echo x >$(f)"));
  EXPECT_TRUE(is_plain_command("echo x >2 >&1"));
  EXPECT_TRUE(is_plain_command("echo x >'2'>&1"));
}

}  // namespace
