// The marker search next to glibc's memmem, over 1 MiB of zeros (what `head -c N /dev/zero`
// prints) and of text. Markers are random, so both are timed with a typical one and with one
// holding the byte pair "Np", which leaves memmem's pair-hash skipping crawling over zeros:
// why Tether has a search of its own (src/protocol/marker_search.hpp).
#include <benchmark/benchmark.h>
#include <string.h>

#include <string>
#include <string_view>

#include "protocol/marker_search.hpp"

namespace {

std::string output_of(const char* kind) {
  if (std::string_view(kind) == "zeros") return std::string(std::size_t{1} << 20, '\0');
  std::string text;
  while (text.size() < (std::size_t{1} << 20)) text += "total 48 drwxr-xr-x 2 root root 4096 .\n";
  return text;
}

// The scan Tether picks on this CPU (AVX2 where it has it).
void bm_find_marker(benchmark::State& state, const char* kind, const char* marker) {
  const std::string output = output_of(kind);
  for (auto _ : state) {
    benchmark::DoNotOptimize(tether::protocol::find_marker(output, marker));
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * output.size()));
}

// x86-64's baseline scan, what a CPU without AVX2 runs.
void bm_find_marker_sse2(benchmark::State& state, const char* kind, const char* marker) {
  const std::string output = output_of(kind);
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        tether::protocol::find_marker(output, marker, tether::protocol::marker_scan::sse2));
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * output.size()));
}

void bm_memmem(benchmark::State& state, const char* kind, const char* marker) {
  const std::string output = output_of(kind);
  for (auto _ : state) {
    benchmark::DoNotOptimize(::memmem(output.data(), output.size(), marker, strlen(marker)));
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * output.size()));
}

}  // namespace

BENCHMARK_CAPTURE(bm_find_marker, zeros_typical_marker, "zeros", "aB3xY7qZ9k");
BENCHMARK_CAPTURE(bm_find_marker_sse2, zeros_typical_marker, "zeros", "aB3xY7qZ9k");
BENCHMARK_CAPTURE(bm_memmem, zeros_typical_marker, "zeros", "aB3xY7qZ9k");
BENCHMARK_CAPTURE(bm_find_marker, zeros_marker_with_Np, "zeros", "aB3xNpqZ9k");
BENCHMARK_CAPTURE(bm_find_marker_sse2, zeros_marker_with_Np, "zeros", "aB3xNpqZ9k");
BENCHMARK_CAPTURE(bm_memmem, zeros_marker_with_Np, "zeros", "aB3xNpqZ9k");
BENCHMARK_CAPTURE(bm_find_marker, text_typical_marker, "text", "aB3xY7qZ9k");
BENCHMARK_CAPTURE(bm_find_marker_sse2, text_typical_marker, "text", "aB3xY7qZ9k");
BENCHMARK_CAPTURE(bm_memmem, text_typical_marker, "text", "aB3xY7qZ9k");

BENCHMARK_MAIN();
