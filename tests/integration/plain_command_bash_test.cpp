// is_plain_command decides which commands bash reads on Tether's own line instead of through
// eval. A wrong "yes" is a syntax error that ends the session, or a command that reads the
// framing after it as its own. This asks bash itself: thousands of commands built at random
// from pieces of shell syntax, each one is_plain_command accepts run both ways in a real bash;
// bash must get through every line, and the two ways must print the same.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "protocol/command_encoder.hpp"
#include "protocol/plain_command.hpp"
#include "tether/quote.hpp"

namespace {

namespace fs = std::filesystem;

// Pieces that a command may be made of: harmless commands, words in every kind of quoting,
// and every character that matters to bash's parser. No `&` alone and no `$$`/`$!`: a
// background job's output and a shell's pid would differ between two runs.
const std::vector<std::string> pieces = {
    "echo",  "printf",   "true",      "false",  ":",       "x=1", "y=",  "a",  "b9",
    "'b c'", "\"d $x\"", "\"${x}\"",  "$?",     "$x",      "$1",  "$#",  "if", "fi",
    "done",  "in",       "'if'",      "-n",     "*.none",  "~",   "a=b", "%",  "'",
    "\"",    "$",        "${",        "}",      "{",       "(",   ")",   "\\", "#",
    "`",     "!",        "[[",        "]]",     ";",       "|",   "&&",  "||", ">f",
    ">",     "2>&1",     "<f",        "<",      "<<",      "<<<", "&>g", "|&", "\n",
    "\t",    ";;",       ">>f",       "'x\"y'", "\"p'q\"", "=",   "@",   "+",  ",",
    "[a]",   "\xc3\xa9", "'\xc3\xa9'"};

std::string random_command(std::mt19937& random) {
  std::uniform_int_distribution<std::size_t> count(1, 7);
  std::uniform_int_distribution<std::size_t> piece(0, pieces.size() - 1);
  std::uniform_int_distribution<int> glue(0, 3);
  std::string command;
  const std::size_t n = count(random);
  for (std::size_t i = 0; i < n; ++i) {
    if (i > 0 && glue(random) != 0) command += ' ';  // mostly spaced, sometimes stuck together
    command += pieces[piece(random)];
  }
  return command;
}

// Runs `script` with bash reading it from a file and stdin on /dev/null, as Tether's shells do,
// in `dir`/work made afresh (the same path for both runs: `~+` and messages name it); keeps
// the script, its stdout and stderr as `dir`/`name`.*; returns stdout.
std::string run_bash(const fs::path& dir, const std::string& name, const std::string& script) {
  const fs::path work = dir / "work";
  fs::remove_all(work);
  fs::create_directories(work);
  const fs::path base = dir / name;
  std::ofstream(base.string() + ".script") << script;
  // A command that read the framing after it as its own could also make bash wait for ever.
  const std::string command = "cd '" + work.string() + "' && timeout 120 bash '" + base.string() +
                              ".script' </dev/null >'" + base.string() + ".out' 2>'" +
                              base.string() + ".err'";
  const int status = std::system(command.c_str());
  const auto read = [&](const char* suffix) {
    std::ifstream in(base.string() + suffix);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  };
  const std::string err = read(".err");
  EXPECT_EQ(status, 0) << "bash ended with " << status << ":\n"
                       << err.substr(err.size() - std::min<std::size_t>(err.size(), 2000));
  // Messages name the script and its line, and a plain command takes two lines where eval
  // takes one.
  std::string out = read(".out");
  const std::string script_path = base.string() + ".script";
  for (auto at = out.find(script_path); at != std::string::npos; at = out.find(script_path, at)) {
    out.replace(at, script_path.size(), "SCRIPT");
  }
  return std::regex_replace(out, std::regex("line [0-9]+:"), "line N:");
}

TEST(plain_command_in_bash, every_command_it_accepts_parses_on_its_line_and_does_what_eval_does) {
  // Fixed, so that every run tries the same commands; TETHER_PLAIN_COMMAND_SEED tries others.
  const char* seed = std::getenv("TETHER_PLAIN_COMMAND_SEED");
  std::mt19937 random(seed != nullptr ? static_cast<unsigned>(std::stoul(seed)) : 20261123U);
  std::vector<std::string> accepted;
  for (int i = 0; i < 40000 && accepted.size() < 3000; ++i) {
    auto command = random_command(random);
    // `$$` (from `$` and `$1` side by side) is each bash's own pid.
    if (command.find("$$") != std::string::npos) continue;
    if (tether::protocol::is_plain_command(command)) accepted.push_back(std::move(command));
  }
  ASSERT_GE(accepted.size(), 3000U);  // the test must have something to test

  // The lines Tether sends (command_encoder, which takes these commands without eval), each
  // with a numbered marker, and the same commands through eval.
  const tether::protocol::line_style bash{.end_markers = tether::protocol::markers::stdout_only,
                                          .bash = true,
                                          .commands_on_stdin = false};
  std::string plain_script = "x=X\n";
  std::string eval_script = "x=X\n";
  std::size_t with_quotes = 0;
  std::size_t with_operators = 0;
  for (std::size_t i = 0; i < accepted.size(); ++i) {
    const tether::protocol::nonce marker{"M" + std::to_string(i), "X"};
    tether::protocol::encode_command_into(plain_script, accepted[i], marker, std::nullopt, bash);
    // A leading space keeps a leading `-` from being eval's option.
    eval_script += "for _ in 1;{ \\eval " + tether::shell_quote(" " + accepted[i]) + ";}\n\\echo " +
                   marker.first + "\"" + marker.second + ":$?\"\n";
    if (accepted[i].find_first_of("'\"$") != std::string::npos) ++with_quotes;
    if (accepted[i].find_first_of(";|&<>") != std::string::npos) ++with_operators;
  }
  plain_script += "\\echo END\n";
  eval_script += "\\echo END\n";
  EXPECT_GE(with_quotes, 300U);
  EXPECT_GE(with_operators, 300U);

  const fs::path dir = fs::temp_directory_path() / ("tether-plain-" + std::to_string(getpid()));
  const std::string plain_out = run_bash(dir, "plain", plain_script);
  const std::string eval_out = run_bash(dir, "eval", eval_script);
  if (HasFailure()) {
    ADD_FAILURE() << "the scripts and their output are kept in " << dir;
  } else {
    fs::remove_all(dir);
  }

  // bash got through every line (a syntax error would have ended it; a command reading past
  // its end would have swallowed a marker), and each command did what it does through eval:
  // the same output and the same status.
  std::size_t plain_from = 0;
  std::size_t eval_from = 0;
  for (std::size_t i = 0; i < accepted.size(); ++i) {
    const std::string marker = "M" + std::to_string(i) + "X:";
    const auto plain_at = plain_out.find(marker, plain_from);
    ASSERT_NE(plain_at, std::string::npos) << "bash lost its way at or before: " << accepted[i];
    const auto eval_at = eval_out.find(marker, eval_from);
    ASSERT_NE(eval_at, std::string::npos) << "eval lost its way at or before: " << accepted[i];
    const auto plain_end = plain_out.find('\n', plain_at);
    const auto eval_end = eval_out.find('\n', eval_at);
    ASSERT_EQ(plain_out.substr(plain_from, plain_end - plain_from),
              eval_out.substr(eval_from, eval_end - eval_from))
        << "command: " << accepted[i];
    plain_from = plain_end + 1;
    eval_from = eval_end + 1;
  }
  EXPECT_EQ(plain_out.substr(plain_from), "END\n");
}

}  // namespace
