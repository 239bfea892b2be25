// libFuzzer target: the decoder alone. The first input byte splits the rest into a stdout part
// and a stderr part; each is fed whole, in 7-byte chunks, and byte by byte. Chunking must never
// change what comes out, and no input may crash or grow memory without bound.
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>

#include "protocol/marker_decoder.hpp"

namespace {

using tether::output_stream;

struct collect final : tether::protocol::output_handler {
  std::string out;
  std::string err;
  void on_output(output_stream stream, std::string_view bytes) override {
    (stream == output_stream::out ? out : err).append(bytes);
  }
};

struct outcome {
  std::string out, err, error, out_rest;
  std::optional<int> status;
  bool finished = false;
  bool operator==(const outcome&) const = default;
};

outcome decode(std::string_view out, std::string_view err, std::size_t chunk) {
  tether::protocol::marker_decoder decoder("ab12ab34");
  collect sink;
  outcome result;
  for (std::size_t at = 0; at < out.size(); at += chunk) {
    const auto piece = out.substr(at, chunk);
    const auto used = decoder.feed(output_stream::out, piece, sink);
    if (used < piece.size()) {
      result.out_rest = std::string(out.substr(at + used));
      break;
    }
  }
  for (std::size_t at = 0; at < err.size(); at += chunk) {
    if (decoder.feed(output_stream::err, err.substr(at, chunk), sink) == 0 && !err.empty()) {
      if (decoder.stream_finished(output_stream::err) || !decoder.error().empty()) break;
    }
  }
  if (!decoder.finished()) decoder.flush(sink);
  result.out = sink.out;
  result.err = sink.err;
  result.error = decoder.error();
  result.status = decoder.exit_status();
  result.finished = decoder.finished();
  return result;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::size_t split = size > 1 ? data[0] % size : 0;
  const auto out = rest.substr(0, split);
  const auto err = rest.substr(std::min(split, rest.size()));
  const outcome whole = decode(out, err, rest.size() + 1);
  if (!(decode(out, err, 7) == whole) || !(decode(out, err, 1) == whole)) std::abort();
  // Nothing is lost: output and the unconsumed rest add up to at most the input.
  if (whole.out.size() + whole.out_rest.size() > out.size()) std::abort();
  return 0;
}
