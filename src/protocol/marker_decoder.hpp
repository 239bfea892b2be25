#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tether/output_stream.hpp"

namespace tether::protocol {

/// Receives the decoded output of one command.
class output_handler {
 public:
  virtual void on_output(output_stream stream, std::string_view bytes) = 0;

 protected:
  ~output_handler() = default;
};

/// Splits a command's output from its end markers. Sans-I/O: feed it the bytes read from each
/// stream, in any chunking; it hands the command's output to an output_handler and records the
/// exit status. The stdout marker is `<marker>:<status>\n`, the stderr marker `<marker>\n`; the
/// command is finished when both have been seen (the two streams arrive in any order).
///
/// A tail of input that could be the start of a marker is held back until the next bytes
/// decide it (at most marker length - 1 bytes per stream), so memory stays bounded.
/// Errors are sticky and carry the stream and byte offset.
class marker_decoder {
 public:
  /// With `stderr_marker` false, stderr carries no marker: all of it is output, and the
  /// command is finished once the stdout marker has been seen (see protocol::markers).
  explicit marker_decoder(std::string marker, bool stderr_marker = true);

  /// Decode bytes from one stream. Returns how many were consumed: bytes after that stream's
  /// marker are not consumed; they belong to whatever the shell prints next.
  std::size_t feed(output_stream stream, std::string_view bytes, output_handler& handler);

  /// Hand over the held-back bytes of both streams as output: the streams ended without their
  /// markers (the shell died), and nothing read may be lost.
  void flush(output_handler& handler);

  [[nodiscard]] bool finished() const;
  [[nodiscard]] bool stream_finished(output_stream stream) const;
  /// The status printed in the stdout marker, once that marker has been seen.
  [[nodiscard]] std::optional<int> exit_status() const { return exit_status_; }
  /// How many bytes of `stream` are held back as a possible start of the marker. They are
  /// handed over before any later byte of that stream, if they turn out to be output.
  [[nodiscard]] std::size_t held_size(output_stream stream) const;
  /// Non-empty once the framing was broken; says where.
  [[nodiscard]] const std::string& error() const { return error_; }

 private:
  enum class phase : std::uint8_t { output, colon, status, newline, done };
  struct stream_state {
    phase at = phase::output;
    std::string held;
    std::uint64_t offset = 0;  // bytes of this stream consumed so far
    std::int64_t status = 0;
    int status_digits = 0;
  };

  std::size_t scan_output(stream_state& state, output_stream stream, std::string_view bytes,
                          output_handler& handler);
  std::size_t parse_marker_tail(stream_state& state, output_stream stream, std::string_view bytes,
                                output_handler& handler);
  void fail(const stream_state& state, output_stream stream, std::size_t at, std::string_view why);
  [[nodiscard]] std::size_t longest_marker_prefix_suffix(std::string_view bytes) const;

  std::string marker_;
  bool stderr_marker_;
  std::array<stream_state, 2> streams_;
  std::optional<int> exit_status_;
  std::string error_;
};

}  // namespace tether::protocol
