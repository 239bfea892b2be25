#include "protocol/marker_decoder.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using tether::output_stream;
using tether::protocol::marker_decoder;

const std::string marker = "0123abcd4567ef89";

struct collected final : tether::protocol::output_handler {
  std::string out;
  std::string err;
  void on_output(output_stream stream, std::string_view bytes) override {
    (stream == output_stream::out ? out : err).append(bytes);
  }
};

struct decoded {
  std::string out;
  std::string err;
  std::optional<int> status;
  bool finished = false;
  std::string error;
  std::string out_rest;  // bytes after the stdout marker, not consumed
  bool operator==(const decoded&) const = default;
};

// Feed both streams in chunks of `chunk` bytes, alternating streams, as a transport might.
decoded decode(const std::string& out, const std::string& err, std::size_t chunk) {
  marker_decoder decoder(marker);
  collected sink;
  decoded result;
  std::size_t out_at = 0;
  std::size_t err_at = 0;
  while (out_at < out.size() || err_at < err.size()) {
    if (out_at < out.size()) {
      const auto piece = std::string_view(out).substr(out_at, chunk);
      const std::size_t used = decoder.feed(output_stream::out, piece, sink);
      if (used < piece.size()) {
        result.out_rest = out.substr(out_at + used);
        out_at = out.size();
      } else {
        out_at += piece.size();
      }
    }
    if (err_at < err.size()) {
      const auto piece = std::string_view(err).substr(err_at, chunk);
      decoder.feed(output_stream::err, piece, sink);
      err_at += piece.size();
    }
  }
  if (!decoder.finished()) decoder.flush(sink);
  result.out = sink.out;
  result.err = sink.err;
  result.status = decoder.exit_status();
  result.finished = decoder.finished();
  result.error = decoder.error();
  return result;
}

// Every chunk size must give the same events as one whole feed (h11 / llhttp style).
void expect_same_at_every_chunk_size(const std::string& out, const std::string& err,
                                     const decoded& expected) {
  const std::size_t longest = std::max(out.size(), err.size()) + 1;
  for (std::size_t chunk = 1; chunk <= longest; ++chunk) {
    EXPECT_EQ(decode(out, err, chunk), expected) << "chunk size " << chunk;
  }
}

TEST(marker_decoder, splits_output_from_markers) {
  expect_same_at_every_chunk_size(
      "hello\n" + marker + ":0\n", "oops\n" + marker + "\n",
      {.out = "hello\n", .err = "oops\n", .status = 0, .finished = true});
}

TEST(marker_decoder, output_without_trailing_newline_is_exact) {
  expect_same_at_every_chunk_size("no newline" + marker + ":3\n", marker + "\n",
                                  {.out = "no newline", .status = 3, .finished = true});
}

TEST(marker_decoder, keeps_nul_bytes_and_invalid_utf8) {
  const std::string bytes("a\0b\xff\xfe\xc3", 6);
  expect_same_at_every_chunk_size(bytes + marker + ":0\n", bytes + marker + "\n",
                                  {.out = bytes, .err = bytes, .status = 0, .finished = true});
}

TEST(marker_decoder, partial_marker_lookalikes_are_output) {
  // Prefixes of the marker, and the marker with one byte changed, are plain output.
  const std::string lookalike =
      marker.substr(0, 7) + "|" + marker.substr(0, 15) + "X" + marker.substr(0, marker.size() - 1);
  expect_same_at_every_chunk_size(
      lookalike + marker + ":1\n", lookalike + marker + "\n",
      {.out = lookalike, .err = lookalike, .status = 1, .finished = true});
}

TEST(marker_decoder, marker_repeated_prefix_is_found) {
  // The marker preceded by its own first bytes (overlap) must still be found.
  const std::string out = "01230123abcd" + marker + ":0\n";
  expect_same_at_every_chunk_size(out, marker + "\n",
                                  {.out = "01230123abcd", .status = 0, .finished = true});
}

TEST(marker_decoder, bytes_after_marker_are_left_unconsumed) {
  expect_same_at_every_chunk_size("x" + marker + ":0\nlater", marker + "\n",
                                  {.out = "x", .status = 0, .finished = true, .out_rest = "later"});
}

TEST(marker_decoder, big_statuses_are_read) {
  expect_same_at_every_chunk_size(marker + ":265\n", marker + "\n",
                                  {.status = 265, .finished = true});
}

TEST(marker_decoder, one_stream_alone_is_not_finished) {
  const auto result = decode("a" + marker + ":0\n", "b", 4);
  EXPECT_FALSE(result.finished);
  EXPECT_EQ(result.out, "a");
  EXPECT_EQ(result.err, "b");
}

TEST(marker_decoder, stream_ending_mid_marker_loses_nothing) {
  const std::string cut = "data" + marker.substr(0, 10);
  const auto result = decode(cut, "", 3);
  EXPECT_FALSE(result.finished);
  EXPECT_EQ(result.out, cut);  // flush() hands over the held-back bytes
}

TEST(marker_decoder, broken_status_is_a_sticky_error_with_offset) {
  const auto result = decode("ab" + marker + ":x\n", marker + "\n", 64);
  EXPECT_FALSE(result.finished);
  EXPECT_EQ(result.error,
            "broken framing on stdout at byte 19: expected a decimal exit status "
            "after the end marker");
}

TEST(marker_decoder, missing_colon_is_an_error) {
  const auto result = decode(marker + "0\n", marker + "\n", 64);
  EXPECT_NE(result.error.find("expected ':'"), std::string::npos) << result.error;
}

TEST(marker_decoder, too_many_status_digits_is_an_error) {
  const auto result = decode(marker + ":123456\n", marker + "\n", 64);
  EXPECT_NE(result.error.find("too many digits"), std::string::npos) << result.error;
}

TEST(marker_decoder, nonce_on_stderr_without_its_newline_is_output) {
  // `set -x` traces the stdout marker's echo to stderr: "+ echo <nonce>:0".
  const std::string trace = "+ echo " + marker + ":0\n";
  expect_same_at_every_chunk_size(marker + ":0\n", trace + "err" + marker + "\n",
                                  {.out = "", .err = trace + "err", .status = 0, .finished = true});
}

}  // namespace

namespace {

TEST(marker_decoder, without_stderr_marker_stderr_is_all_output) {
  marker_decoder decoder(marker, /*stderr_marker=*/false);
  collected sink;
  // Even marker-shaped bytes on stderr are output when stderr carries no marker.
  decoder.feed(output_stream::err, "e1\n" + marker + "\n", sink);
  EXPECT_FALSE(decoder.finished());
  decoder.feed(output_stream::out, "o" + marker + ":5\n", sink);
  EXPECT_TRUE(decoder.finished());
  decoder.feed(output_stream::err, "late\n", sink);
  EXPECT_EQ(sink.out, "o");
  EXPECT_EQ(sink.err, "e1\n" + marker + "\nlate\n");
  EXPECT_EQ(decoder.exit_status(), 5);
  EXPECT_EQ(decoder.held_size(output_stream::err), 0U);
}

}  // namespace
