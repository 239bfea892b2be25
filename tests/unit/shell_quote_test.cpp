#include <gtest/gtest.h>

#include <tether/error.hpp>
#include <tether/quote.hpp>

namespace {

TEST(shell_quote, safe_words_stay_as_they_are) {
  EXPECT_EQ(tether::shell_quote("ls"), "ls");
  EXPECT_EQ(tether::shell_quote("/usr/bin/env"), "/usr/bin/env");
  EXPECT_EQ(tether::shell_quote("a=b"), "'a=b'");
}

TEST(shell_quote, empty_word_is_quoted) {
  EXPECT_EQ(tether::shell_quote(""), "''");
}

TEST(shell_quote, special_characters_are_single_quoted) {
  EXPECT_EQ(tether::shell_quote("my dir"), "'my dir'");
  EXPECT_EQ(tether::shell_quote("$HOME"), "'$HOME'");
  EXPECT_EQ(tether::shell_quote("it's"), "'it'\\''s'");
  EXPECT_EQ(tether::shell_quote("a\nb"), "'a\nb'");
}

TEST(shell_quote, nul_byte_is_refused) {
  EXPECT_THROW(tether::shell_quote(std::string("a\0b", 3)), tether::error);
}

TEST(shell_join, joins_quoted_words) {
  EXPECT_EQ(tether::shell_join({"ls", "-l", "my dir"}), "ls -l 'my dir'");
  const std::vector<std::string> words{"printf", "%s\n", "x'y"};
  EXPECT_EQ(tether::shell_join(words), "printf '%s\n' 'x'\\''y'");
}

}  // namespace
