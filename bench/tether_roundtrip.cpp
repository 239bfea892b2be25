// tether_roundtrip: Tether's side of bench/compare_floor.sh. It has floor's command-line shape
// and output, and does what floor does (one untimed warm-up command, then the timed ones), so
// the script compares like with like.
//
//   tether_roundtrip SHELL CMD N               run CMD N times, print microseconds per command
//   tether_roundtrip --throughput SHELL BYTES  capture `head -c BYTES /dev/zero`, print MB/s
//
// Or on a target (session_options::target, e.g. ssh://host), optionally with an ssh_config file
// (ssh_options::config_file), in place of a local shell (bench/compare_ssh.sh):
//
//   tether_roundtrip --target TARGET [--ssh-config FILE] CMD N
//   tether_roundtrip --target TARGET [--ssh-config FILE] --throughput BYTES
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

#include "tether/session.hpp"

namespace {

using bench_clock = std::chrono::steady_clock;

int usage() {
  std::fputs(
      "usage: tether_roundtrip SHELL CMD N\n"
      "       tether_roundtrip --throughput SHELL BYTES\n"
      "       tether_roundtrip --target TARGET [--ssh-config FILE] CMD N\n"
      "       tether_roundtrip --target TARGET [--ssh-config FILE] --throughput BYTES\n",
      stderr);
  return 2;
}

// Where the session runs: a local shell program, or a target with its ssh settings.
struct where {
  std::string shell;
  std::string target;
  std::string ssh_config;
};

long parse_count(const char* text) {
  char* end = nullptr;
  errno = 0;
  const long value = std::strtol(text, &end, 10);
  if (errno != 0 || *end != '\0' || value <= 0) {
    std::fprintf(stderr, "tether_roundtrip: not a positive count: %s\n", text);
    std::exit(2);
  }
  return value;
}

tether::session open_shell(const where& place) {
  if (!place.target.empty()) {
    return tether::session(
        tether::session_options{.target = place.target, .ssh = {.config_file = place.ssh_config}});
  }
  return tether::session(tether::session_options{.shell_argv = {place.shell}});
}

int round_trip(const where& place, const char* command, long count) {
  auto session = open_shell(place);
  if (!session.run(command).ok()) {
    std::fprintf(stderr, "tether_roundtrip: the warm-up command failed\n");
    return 1;
  }
  const auto start = bench_clock::now();
  for (long i = 0; i < count; ++i) {
    if (!session.run(command).ok()) {
      std::fprintf(stderr, "tether_roundtrip: %s failed\n", command);
      return 1;
    }
  }
  const std::chrono::duration<double, std::micro> spent = bench_clock::now() - start;
  std::printf("%.2f us/cmd\n", spent.count() / static_cast<double>(count));
  return 0;
}

int throughput(const where& place, long bytes) {
  auto session = open_shell(place);
  const std::string command = "head -c " + std::to_string(bytes) + " /dev/zero";
  const auto start = bench_clock::now();
  const auto& done = session.run(command);
  const std::chrono::duration<double> spent = bench_clock::now() - start;
  if (!done.ok() || done.out.size() != static_cast<std::size_t>(bytes) || !done.err.empty()) {
    std::fprintf(stderr, "tether_roundtrip: captured %zu bytes, %s\n", done.out.size(),
                 done.ok() ? "status 0" : "the command failed");
    return 1;
  }
  std::printf("%.1f MB/s\n", static_cast<double>(bytes) / spent.count() / 1e6);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    where place;
    int arg = 1;
    while (arg + 1 < argc) {
      if (std::strcmp(argv[arg], "--target") == 0) {
        place.target = argv[arg + 1];
      } else if (std::strcmp(argv[arg], "--ssh-config") == 0) {
        place.ssh_config = argv[arg + 1];
      } else {
        break;
      }
      arg += 2;
    }
    const int left = argc - arg;
    if (!place.target.empty()) {
      if (left == 2 && std::strcmp(argv[arg], "--throughput") == 0) {
        return throughput(place, parse_count(argv[arg + 1]));
      }
      if (left == 2 && argv[arg][0] != '-') {
        return round_trip(place, argv[arg], parse_count(argv[arg + 1]));
      }
      return usage();
    }
    if (!place.ssh_config.empty() || arg != 1) return usage();
    if (argc == 4 && std::strcmp(argv[1], "--throughput") == 0) {
      place.shell = argv[2];
      return throughput(place, parse_count(argv[3]));
    }
    if (argc == 4 && argv[1][0] != '-') {
      place.shell = argv[1];
      return round_trip(place, argv[2], parse_count(argv[3]));
    }
    return usage();
  } catch (const std::exception& failure) {
    std::fprintf(stderr, "tether_roundtrip: %s\n", failure.what());
    return 1;
  }
}
