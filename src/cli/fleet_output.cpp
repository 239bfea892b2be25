#include "cli/fleet_output.hpp"

#include <iterator>
#include <map>

#include "cli/result_json.hpp"
#include "cli/terminal_output.hpp"

namespace tether::cli {

namespace {

constexpr std::string_view red = "\033[31m";
constexpr std::string_view reset = "\033[0m";

// Each target's name in a colour of its own, as clush shows them, so that interleaved lines are
// told apart at a glance; red is kept for stderr.
std::string_view colour_of(std::size_t index) {
  static constexpr std::string_view palette[] = {"\033[36m", "\033[32m", "\033[33m", "\033[35m",
                                                 "\033[34m", "\033[96m", "\033[92m", "\033[93m",
                                                 "\033[95m", "\033[94m"};
  return palette[index % std::size(palette)];
}

void write_block_header(int fd, const std::string& names) {
  write_all(fd, "---------------\n" + names + "\n---------------\n");
}

void write_ended(int fd, std::string_view bytes) {
  write_all(fd, bytes);
  if (!bytes.empty() && bytes.back() != '\n') write_all(fd, "\n");
}

std::string joined(const std::vector<std::string>& names) {
  std::string text;
  for (const auto& name : names) text += (text.empty() ? "" : ",") + name;
  return text;
}

// Targets with identical bytes, in the order they first appear.
std::vector<std::pair<std::string, std::vector<std::string>>> gather(
    const std::vector<target_result>& results, std::string result::*stream) {
  std::vector<std::pair<std::string, std::vector<std::string>>> groups;
  std::map<std::string_view, std::size_t> index;
  for (const auto& one : results) {
    const std::string& bytes = one.outcome.*stream;
    if (bytes.empty()) continue;
    const auto [at, fresh] = index.try_emplace(bytes, groups.size());
    if (fresh) groups.push_back({bytes, {}});
    groups[at->second].second.push_back(one.target);
  }
  return groups;
}

}  // namespace

void progress_line::update(const fleet::progress_counts& counts,
                           std::chrono::steady_clock::duration elapsed) {
  using namespace std::chrono_literals;
  if (!enabled_ || elapsed < 1s) return;
  const auto now = std::chrono::steady_clock::now();
  if (shown_ && now - last_drawn_ < 100ms) return;
  last_drawn_ = now;
  shown_ = true;
  write_all(2, "\r\033[K[tether] " + std::to_string(counts.done) + " done, " +
                   std::to_string(counts.failed) + " failed, " + std::to_string(counts.running) +
                   " running, " + format_seconds(std::chrono::duration<double>(elapsed).count()) +
                   " s");
}

void progress_line::clear() {
  if (!shown_) return;
  write_all(2, "\r\033[K");
  shown_ = false;
}

std::string failure_of(const target_result& done, const time_limits& limits) {
  const auto& outcome = done.outcome;
  if (done.error || !outcome.error.empty()) return outcome.error;
  const std::string restarted = outcome.restarted ? " (its shell was restarted)" : "";
  if (outcome.timed_out) return timeout_message(outcome.duration, limits) + restarted;
  if (!outcome.exit_status) return "interrupted, without an exit status" + restarted;
  if (*outcome.exit_status != 0) return "exit status " + std::to_string(*outcome.exit_status);
  return {};
}

void fleet_printer::line(const target_line& line) {
  progress_.clear();
  const int fd = line.stream == output_stream::out ? 1 : 2;
  const bool colored = color_ && line.stream == output_stream::err;
  std::string text;
  if (mode_ == output_mode::prefixed) {
    if (color_) {
      text += colour_of(line.index);
      text += line.target + ":";
      text += reset;
      text += ' ';
    } else {
      text += line.target + ": ";
    }
  }
  if (colored) text += red;
  text += line.text;
  if (mode_ == output_mode::prefixed && (line.text.empty() || line.text.back() != '\n')) {
    text += '\n';  // a prefixed line must end, or the next target's line would join it
  }
  if (colored) {
    // The colour ends before the newline, so a terminal never carries it onto the next line.
    const bool ended = !text.empty() && text.back() == '\n';
    if (ended) text.pop_back();
    text += reset;
    if (ended) text += '\n';
  }
  write_all(fd, text);
}

void fleet_printer::results(std::string_view command, const std::vector<target_result>& results) {
  progress_.clear();
  switch (mode_) {
    case output_mode::json:
      for (const auto& one : results) {
        auto object = result_to_json(one.outcome, command);
        if (one.connected_at) object["connect_s"] = one.connected_at->count();
        object["first_byte_s"] =
            one.first_byte_at ? nlohmann::json(one.first_byte_at->count()) : nlohmann::json();
        object["finished_s"] = one.finished_at.count();
        if (one.error) object["error"] = one.outcome.error;
        print_line(1, object.dump());
      }
      return;
    case output_mode::blocks:
      for (const auto& one : results) {
        if (!one.outcome.out.empty()) {
          write_block_header(1, one.target);
          write_ended(1, one.outcome.out);
        }
        if (!one.outcome.err.empty()) {
          write_block_header(2, one.target);
          write_ended(2, one.outcome.err);
        }
      }
      break;
    case output_mode::gathered:
      for (const auto& [bytes, names] : gather(results, &result::out)) {
        write_block_header(1, joined(names) + " (" + std::to_string(names.size()) + ")");
        write_ended(1, bytes);
      }
      for (const auto& [bytes, names] : gather(results, &result::err)) {
        write_block_header(2, joined(names) + " (" + std::to_string(names.size()) + ")");
        write_ended(2, bytes);
      }
      break;
    default:
      break;
  }
  notes(results);
}

void fleet_printer::notes(const std::vector<target_result>& results) {
  for (const auto& one : results) {
    if (one.outcome.out_truncated || one.outcome.err_truncated) {
      print_line(2, "tether: " + (mode_ == output_mode::plain ? std::string() : one.target + ": ") +
                        "printed more than --max-output; the rest was dropped");
    }
  }
  if (mode_ == output_mode::gathered) {
    std::vector<std::pair<std::string, std::vector<std::string>>> groups;
    std::map<std::string, std::size_t> index;
    for (const auto& one : results) {
      const auto why = failure_of(one, limits_);
      if (why.empty()) continue;
      const auto [at, fresh] = index.try_emplace(why, groups.size());
      if (fresh) groups.push_back({why, {}});
      groups[at->second].second.push_back(one.target);
    }
    for (const auto& [why, names] : groups) print_line(2, "tether: " + joined(names) + ": " + why);
    return;
  }
  for (const auto& one : results) {
    const auto why = failure_of(one, limits_);
    if (why.empty()) continue;
    print_line(
        2, "tether: " + (mode_ == output_mode::plain ? std::string() : one.target + ": ") + why);
  }
}

}  // namespace tether::cli
