#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "cli/terminal_output.hpp"
#include "tether/fleet.hpp"

namespace tether::cli {

enum class output_mode {
  plain,     ///< one target: its output as it is, as `tether run` prints a single session
  prefixed,  ///< every line as it arrives, prefixed with its target
  blocks,    ///< one block per target once the command has finished
  gathered,  ///< targets with identical output shown once, under the list of their names
  json,      ///< one JSON object per target per command
};

/// A line on stderr saying how a long fleet command is getting on; only on a terminal, only
/// after the first second, redrawn at most ten times a second, and wiped before other output.
class progress_line {
 public:
  explicit progress_line(bool enabled) : enabled_(enabled) {}
  void update(const fleet::progress_counts& counts, std::chrono::steady_clock::duration elapsed);
  void clear();

 private:
  bool enabled_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point last_drawn_{};
};

/// Prints a fleet's output in the chosen mode.
class fleet_printer {
 public:
  fleet_printer(output_mode mode, bool color, progress_line& progress, time_limits limits)
      : mode_(mode), color_(color), progress_(progress), limits_(limits) {}
  /// The mode prints lines as they arrive (then results carry no output).
  [[nodiscard]] bool streams() const {
    return mode_ == output_mode::plain || mode_ == output_mode::prefixed;
  }
  void line(const target_line& line);
  /// After a command: the blocks, the gathered groups or the JSON, and for every mode a note
  /// for each target whose command did not succeed.
  void results(std::string_view command, const std::vector<target_result>& results);

 private:
  void notes(const std::vector<target_result>& results);
  output_mode mode_;
  bool color_;
  progress_line& progress_;
  time_limits limits_;
};

/// Why a target's command did not succeed, in a few words ("exit status 3", "timed out after
/// 5 s", "printed nothing for 2 s (--idle-timeout)", "could not start: ..."); empty when it did.
std::string failure_of(const target_result& done, const time_limits& limits);

}  // namespace tether::cli
