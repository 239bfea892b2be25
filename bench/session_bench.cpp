// Google Benchmark timings of tether::session::run: the round trip of small commands on dash and
// bash, and capture and streaming throughput of 256 MiB of stdout. bench/compare_floor.sh puts
// these numbers next to a minimal C program's.
//
// Every benchmark uses real time: the work happens in the shell and its children, so the CPU
// time of the benchmark's own thread would understate it.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>

#include "tether/session.hpp"

namespace {

constexpr std::int64_t capture_bytes = std::int64_t{256} << 20;

tether::session open_shell(const char* shell) {
  return tether::session(tether::session_options{.shell_argv = {shell}});
}

std::string capture_command() {
  return "head -c " + std::to_string(capture_bytes) + " /dev/zero";
}

void bm_run(benchmark::State& state, const char* shell, const char* command) {
  try {
    auto session = open_shell(shell);
    for (auto _ : state) {
      const auto& done = session.run(command);
      if (!done.ok()) {
        state.SkipWithError("the command failed");
        break;
      }
      benchmark::DoNotOptimize(done);
    }
  } catch (const std::exception& failure) {
    state.SkipWithError(failure.what());
  }
}

void bm_capture(benchmark::State& state, const char* shell) {
  try {
    auto session = open_shell(shell);
    const std::string command = capture_command();
    for (auto _ : state) {
      // Freeing the 256 MiB result stays inside the timed loop: every caller pays for it.
      const auto& done = session.run(command);
      if (!done.ok() || done.out.size() != static_cast<std::size_t>(capture_bytes)) {
        state.SkipWithError("the output was not captured whole");
        break;
      }
    }
  } catch (const std::exception& failure) {
    state.SkipWithError(failure.what());
  }
  state.SetBytesProcessed(state.iterations() * capture_bytes);
}

void bm_stream(benchmark::State& state, const char* shell) {
  try {
    auto session = open_shell(shell);
    const std::string command = capture_command();
    std::int64_t seen = 0;
    tether::run_options options;
    options.on_output = [&seen](tether::output_stream stream, std::string_view bytes) {
      if (stream == tether::output_stream::out) seen += static_cast<std::int64_t>(bytes.size());
    };
    for (auto _ : state) {
      seen = 0;
      const auto& done = session.run(command, options);
      if (!done.ok() || seen != capture_bytes) {
        state.SkipWithError("the output was not streamed whole");
        break;
      }
    }
  } catch (const std::exception& failure) {
    state.SkipWithError(failure.what());
  }
  state.SetBytesProcessed(state.iterations() * capture_bytes);
}

}  // namespace

BENCHMARK_CAPTURE(bm_run, dash_true, "dash", "true")->UseRealTime();
BENCHMARK_CAPTURE(bm_run, dash_echo_hi, "dash", "echo hi")->UseRealTime();
BENCHMARK_CAPTURE(bm_run, bash_true, "bash", "true")->UseRealTime();
BENCHMARK_CAPTURE(bm_run, bash_echo_hi, "bash", "echo hi")->UseRealTime();
// One shell suffices for throughput: head writes straight into Tether's pipe, the shell only
// starts it. An iteration takes up to a second, so two seconds' worth gives several samples.
BENCHMARK_CAPTURE(bm_capture, dash_256MiB, "dash")
    ->UseRealTime()
    ->MinTime(2.0)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(bm_stream, dash_256MiB, "dash")
    ->UseRealTime()
    ->MinTime(2.0)
    ->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
