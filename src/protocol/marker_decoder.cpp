#include "protocol/marker_decoder.hpp"

#include "protocol/marker_search.hpp"

#include <algorithm>
#include <utility>

namespace tether::protocol {

namespace {

std::size_t index_of(output_stream stream) {
  return stream == output_stream::out ? 0 : 1;
}
const char* name_of(output_stream stream) {
  return stream == output_stream::out ? "stdout" : "stderr";
}

// Statuses above this are not a shell's $? (ksh93's largest is 256 + the highest signal).
constexpr int max_status_digits = 4;

}  // namespace

marker_decoder::marker_decoder(std::string marker, bool stderr_marker)
    : marker_(std::move(marker)), stderr_marker_(stderr_marker) {}

bool marker_decoder::stream_finished(output_stream stream) const {
  return streams_[index_of(stream)].at == phase::done;
}

std::size_t marker_decoder::held_size(output_stream stream) const {
  return streams_[index_of(stream)].held.size();
}

bool marker_decoder::finished() const {
  return error_.empty() && streams_[0].at == phase::done &&
         (!stderr_marker_ || streams_[1].at == phase::done);
}

std::size_t marker_decoder::feed(output_stream stream, std::string_view bytes,
                                 output_handler& handler) {
  auto& state = streams_[index_of(stream)];
  std::size_t used = 0;
  if (!error_.empty()) return 0;
  if (stream == output_stream::err && !stderr_marker_) {
    if (!bytes.empty()) handler.on_output(stream, bytes);
    state.offset += bytes.size();
    return bytes.size();
  }
  // A stderr "marker" that turns out not to be one sends us back to scanning: loop.
  while (used < bytes.size() && state.at != phase::done && error_.empty()) {
    if (state.at == phase::output) {
      used += scan_output(state, stream, bytes.substr(used), handler);
    } else {
      used += parse_marker_tail(state, stream, bytes.substr(used), handler);
    }
  }
  return used;
}

std::size_t marker_decoder::scan_output(stream_state& state, output_stream stream,
                                        std::string_view bytes, output_handler& handler) {
  const std::size_t marker_size = marker_.size();
  if (!state.held.empty()) {
    // A marker that starts in the held tail ends within the next marker_size - 1 bytes.
    const std::size_t take = std::min(bytes.size(), marker_size - 1);
    std::string joined = state.held;
    joined.append(bytes.substr(0, take));
    const auto found = joined.find(marker_);
    if (found != std::string::npos) {
      // found < held.size(): a marker cannot fit in the `take` bytes alone.
      if (found > 0) handler.on_output(stream, std::string_view(joined).substr(0, found));
      const std::size_t after = found + marker_size - state.held.size();
      state.offset += after;
      state.held.clear();
      state.at = stream == output_stream::out ? phase::colon : phase::newline;
      return after;
    }
    if (take < marker_size - 1) {
      // Still undecided: keep the longest tail that may begin a marker.
      const std::size_t keep = longest_marker_prefix_suffix(joined);
      if (joined.size() > keep) {
        handler.on_output(stream, std::string_view(joined).substr(0, joined.size() - keep));
      }
      state.held = joined.substr(joined.size() - keep);
      state.offset += bytes.size();
      return bytes.size();
    }
    // No marker starts in the held tail: it is plain output.
    handler.on_output(stream, state.held);
    state.held.clear();
  }

  const std::size_t found = find_marker(bytes, marker_);
  if (found != std::string_view::npos) {
    if (found > 0) handler.on_output(stream, bytes.substr(0, found));
    const std::size_t after = found + marker_size;
    state.offset += after;
    state.at = stream == output_stream::out ? phase::colon : phase::newline;
    return after;
  }
  const std::size_t keep = longest_marker_prefix_suffix(bytes);
  if (bytes.size() > keep) handler.on_output(stream, bytes.substr(0, bytes.size() - keep));
  state.held.assign(bytes.substr(bytes.size() - keep));
  state.offset += bytes.size();
  return bytes.size();
}

std::size_t marker_decoder::parse_marker_tail(stream_state& state, output_stream stream,
                                              std::string_view bytes, output_handler& handler) {
  std::size_t i = 0;
  for (; i < bytes.size() && state.at != phase::done; ++i) {
    const char c = bytes[i];
    switch (state.at) {
      case phase::colon:
        if (c != ':') {
          fail(state, stream, i, "expected ':' after the end marker");
          return i;
        }
        state.at = phase::status;
        break;
      case phase::status:
        if (c >= '0' && c <= '9') {
          if (++state.status_digits > max_status_digits) {
            fail(state, stream, i, "exit status has too many digits");
            return i;
          }
          state.status = state.status * 10 + (c - '0');
        } else if (c == '\n' && state.status_digits > 0) {
          exit_status_ = static_cast<int>(state.status);
          state.at = phase::done;
        } else {
          fail(state, stream, i, "expected a decimal exit status after the end marker");
          return i;
        }
        break;
      case phase::newline:
        if (c != '\n') {
          // Not the stderr marker but the nonce inside other text: under `set -x` the trace
          // of the stdout marker's echo (`+ echo <nonce>:0`) goes to stderr. It is output.
          handler.on_output(stream, marker_);
          state.at = phase::output;
          state.offset += i;
          return i;
        }
        state.at = phase::done;
        break;
      case phase::output:
      case phase::done:
        break;
    }
  }
  state.offset += i;
  return i;
}

void marker_decoder::fail(const stream_state& state, output_stream stream, std::size_t at,
                          std::string_view why) {
  error_ = std::string("broken framing on ") + name_of(stream) + " at byte " +
           std::to_string(state.offset + at) + ": " + std::string(why);
}

std::size_t marker_decoder::longest_marker_prefix_suffix(std::string_view bytes) const {
  const std::size_t most = std::min(bytes.size(), marker_.size() - 1);
  for (std::size_t length = most; length > 0; --length) {
    if (bytes.substr(bytes.size() - length) == std::string_view(marker_).substr(0, length)) {
      return length;
    }
  }
  return 0;
}

void marker_decoder::flush(output_handler& handler) {
  for (std::size_t i = 0; i < streams_.size(); ++i) {
    auto& state = streams_[i];
    if (!state.held.empty()) {
      handler.on_output(i == 0 ? output_stream::out : output_stream::err, state.held);
      state.held.clear();
    }
  }
}

}  // namespace tether::protocol
