#include "session/command_run.hpp"

#include "session/output_growth.hpp"
#include "session/unfilled_resize.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

namespace tether::session_detail {

namespace {

std::size_t index_of(output_stream stream) {
  return stream == output_stream::out ? 0 : 1;
}

}  // namespace

command_run::command_run(transport::transport& channel, std::string line, std::string marker,
                         const command_limits& limits, std::array<std::string, 2>& leftovers,
                         std::string stale_marker)
    : channel_(channel),
      line_(std::move(line)),
      decoder_(marker, !channel.streams_ordered()),
      limits_(limits),
      leftovers_(leftovers),
      started_(clock::now()),
      last_output_(started_),
      marker_(std::move(marker)),
      stale_marker_(std::move(stale_marker)) {
  for (auto stream : {output_stream::out, output_stream::err}) {
    std::string earlier = std::exchange(leftovers_[index_of(stream)], {});
    if (!earlier.empty()) on_bytes(stream, earlier);
  }
  // Most command lines fit the pipe: write now rather than after a wait for writability.
  write_pending();
}

std::size_t command_run::add_poll_fds(std::vector<pollfd>& fds) const {
  return channel_.add_poll_fds(fds, state_ == state::writing);
}

std::optional<clock::time_point> command_run::next_deadline() const {
  if (decoder_.finished()) {
    // Done but for an interrupt still on its way (see check_progress): wait for it, not longer.
    if (const auto until = channel_.interrupt_in_flight()) return until;
  }
  if (reinterrupt_at_) return reinterrupt_at_;
  if (grace_deadline_) return grace_deadline_;
  std::optional<clock::time_point> soonest;
  if (limits_.timeout) soonest = started_ + *limits_.timeout;
  if (limits_.idle_timeout) {
    const auto idle_end = last_output_ + *limits_.idle_timeout;
    if (!soonest || idle_end < *soonest) soonest = idle_end;
  }
  return soonest;
}

void command_run::advance(const pollfd* mine, std::size_t count, clock::time_point now) {
  if (done()) return;
  channel_.on_ready(mine, count, *this);
  if (state_ == state::writing) write_pending();
  check_progress(now);
}

constexpr std::size_t kept_line_capacity = 4096;

void command_run::write_pending() {
  std::error_code ec;
  while (written_ < line_.size()) {
    const std::size_t put = channel_.write_some(std::string_view(line_).substr(written_), ec);
    if (ec) {
      // Usually the shell has died; its end is noted by the transport and reported with how it
      // ended. If it lives on with its stdin closed, the timeout ends the command.
      failure_ = "cannot write the command to the shell: " + ec.message();
      line_.clear();
      written_ = 0;
      state_ = state::waiting;
      return;
    }
    if (put == 0) return;
    written_ += put;
  }
  line_.clear();
  // The session reuses this buffer for its next line (take_line): kept unless a huge command
  // made it big.
  if (line_.capacity() > kept_line_capacity) line_.shrink_to_fit();
  written_ = 0;
  if (state_ == state::writing) state_ = state::waiting;
  if (interrupt_when_written_) {
    interrupt_when_written_ = false;
    interrupt(clock::now());
  }
}

void command_run::interrupt(clock::time_point now) {
  if (state_ == state::writing) {
    // Half a command line would leave the shell waiting for the rest: finish writing first.
    interrupt_when_written_ = true;
    return;
  }
  if (state_ == state::interrupting) {
    // Asked again while the first is being served (a second Ctrl-C): the caller will not wait
    // out the grace period, so the command is given up now, as when the grace ends.
    grace_deadline_ = now;
    reinterrupt_at_.reset();
    return;
  }
  if (state_ != state::waiting) return;
  begin_interrupt(now);
}

void command_run::check_progress(clock::time_point now) {
  if (!decoder_.error().empty()) {
    failure_ = decoder_.error();
    decoder_.flush(*this);
    end(state::failed, now);
    return;
  }
  if (decoder_.finished()) {
    // The interrupt sent for this command must have arrived before the next command may start.
    if (const auto until = channel_.interrupt_in_flight(); until && now < *until) return;
    // Without a stderr marker, the stderr the command wrote is in its pipe by now (see
    // protocol::markers::stdout_only): one read takes it, as the pipe holds at most 1 MiB.
    if (channel_.streams_ordered()) channel_.complete_stderr(*this);
    result_.exit_status = status_reported();
    end(state::finished, now);
    return;
  }
  if (channel_.ended()) {
    // Output written just before the end may still sit in the pipes.
    channel_.drain(*this);
    if (decoder_.finished()) {
      // The interrupt sent for this command must have arrived before the next command may start.
      if (const auto until = channel_.interrupt_in_flight(); until && now < *until) return;
      result_.exit_status = status_reported();
      end(state::finished, now);
      return;
    }
    decoder_.flush(*this);
    end(state::shell_died, now);
    return;
  }
  if (grace_deadline_) {
    if (now >= *grace_deadline_) {
      end(state::abandoned, now);
    } else if (reinterrupt_at_ && now >= *reinterrupt_at_) {
      // A SIGINT that lands between the shell's fork and the child's exec is lost (the child
      // still has the shell's handler, then execs): the command runs on untouched. A second
      // one, halfway through the grace period, finds it running. A late one is harmless (the
      // trap checks that a command is running).
      reinterrupt_at_.reset();
      channel_.interrupt();
    }
    return;
  }
  const auto deadline = next_deadline();
  if (deadline && now >= *deadline) {
    result_.timed_out = true;
    if (!limits_.interrupt_on_timeout) {
      end(state::abandoned, now);
      return;
    }
    begin_interrupt(now);
  }
}

// A command the interrupt ended reports 130, as a shell reports a command a SIGINT ended:
// bash's trap breaks out of the command (a loop of builtins, `while :; do :; done`, too) with
// the status of `break`, 0, and zsh's `return 130` from a trap that came during such a loop
// now and then returns 0 (seen in about half the runs). A status other than 0 is the
// command's own (it ended by itself as the interrupt came, or handled the SIGINT).
std::optional<int> command_run::status_reported() const {
  const auto status = decoder_.exit_status();
  if (state_ == state::interrupting && status == 0) return 130;
  return status;
}

void command_run::begin_interrupt(clock::time_point now) {
  channel_.interrupt();
  state_ = state::interrupting;
  grace_deadline_ = now + limits_.interrupt_grace;
  reinterrupt_at_ = now + limits_.interrupt_grace / 2;
}

void command_run::end(state final_state, clock::time_point now) {
  state_ = final_state;
  result_.duration = now - started_;
  settle(output_stream::out);
  settle(output_stream::err);
}

result& command_run::outcome() {
  settle(output_stream::out);
  settle(output_stream::err);
  return result_;
}

// The result string of a stream that takes direct reads keeps the region lent to the reads
// between them (so that it is not resized for each read): cut it back
// to the output before the string is used in any other way.
void command_run::settle(output_stream stream) {
  if (auto& committed = direct_committed_[index_of(stream)]) {
    (stream == output_stream::out ? result_.out : result_.err).resize(*committed);
    committed.reset();
  }
}

// When the last read of a stream brought this much, it is bulk output: read the next one
// straight into the result. Small reads (a writer sharing our CPU fills a few KiB per
// wake-up) are cheaper through the transport's buffer than through a region lent out of the
// result, which must be cut back after each.
constexpr std::size_t direct_read_after = 128 * 1024;
constexpr std::size_t direct_read_size = 1024 * 1024;

std::span<char> command_run::read_target(output_stream stream) {
  const bool streaming = limits_.on_output != nullptr && *limits_.on_output;
  std::string& kept = stream == output_stream::out ? result_.out : result_.err;
  if (streaming || limits_.output_cap || decoder_.stream_finished(stream) ||
      last_read_[index_of(stream)] < direct_read_after) {
    settle(stream);
    return {};
  }
  // Bytes the decoder holds back come before anything read now, if they turn out to be
  // output: leave a gap for them, so the new bytes are already where they belong.
  auto& committed = direct_committed_[index_of(stream)];
  if (!committed) committed = kept.size();
  const std::size_t gap = decoder_.held_size(stream);
  const std::size_t wanted = *committed + gap + direct_read_size;
  if (kept.size() < wanted) {
    growth_[index_of(stream)].reserve(kept, wanted);
    unfilled_resize(kept, wanted);  // the reads write it; settle() cuts off what they did not
  }
  return {kept.data() + *committed + gap, direct_read_size};
}

std::string command_run::marker_line() const {
  if (!decoder_.exit_status()) return {};
  return marker_ + ":" + std::to_string(*decoder_.exit_status()) + "\n";
}

void command_run::on_bytes(output_stream stream, std::string_view bytes) {
  if (stream == output_stream::out && stale_matched_ < stale_marker_.size() && !bytes.empty()) {
    const std::size_t n = std::min(bytes.size(), stale_marker_.size() - stale_matched_);
    if (bytes.substr(0, n) == std::string_view(stale_marker_).substr(stale_matched_, n)) {
      stale_matched_ += n;  // (part of) the stale copy: drop it
      bytes.remove_prefix(n);
      if (bytes.empty()) return;
    } else {
      // Not the stale copy after all: what matched so far is output, and matching stops.
      const std::string matched = stale_marker_.substr(0, stale_matched_);
      stale_marker_.clear();
      stale_matched_ = 0;
      if (!matched.empty()) on_bytes(stream, matched);
    }
  }
  if (!bytes.empty()) {
    last_output_ = clock::now();
    last_read_[index_of(stream)] = bytes.size();
  }
  const std::size_t used = decoder_.feed(stream, bytes, *this);
  if (used < bytes.size() && decoder_.stream_finished(stream)) {
    leftovers_[index_of(stream)].append(bytes.substr(used));
  }
  // What the read did not fill, and what was marker rather than output, stays lent (settle).
}

void command_run::on_output(output_stream stream, std::string_view bytes) {
  if (!result_.first_output && !bytes.empty()) result_.first_output = clock::now() - started_;
  if (limits_.on_output != nullptr && *limits_.on_output) {
    (*limits_.on_output)(stream, bytes);
    return;
  }
  std::string& kept = stream == output_stream::out ? result_.out : result_.err;
  if (auto& committed = direct_committed_[index_of(stream)]) {
    // Output of a direct read is usually already in place; held-back bytes from an earlier
    // read are copied into the gap left for them (memmove: the source may be the lent region).
    char* place = kept.data() + *committed;
    if (bytes.data() == place || kept.size() - *committed >= bytes.size()) {
      if (bytes.data() != place) std::memmove(place, bytes.data(), bytes.size());
      *committed += bytes.size();
      return;
    }
    settle(stream);  // bytes from elsewhere that the lent region cannot hold
  }
  if (limits_.output_cap) {
    const std::size_t room =
        *limits_.output_cap > kept.size() ? *limits_.output_cap - kept.size() : 0;
    if (bytes.size() > room) {
      (stream == output_stream::out ? result_.out_truncated : result_.err_truncated) = true;
      bytes = bytes.substr(0, room);
    }
  }
  growth_[index_of(stream)].append(kept, bytes);
}

}  // namespace tether::session_detail
