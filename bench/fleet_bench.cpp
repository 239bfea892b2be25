// fleet_bench: tether::fleet at scale (issue 5). bench/compare_fleet.sh runs it next to
// parallel-ssh and sequential ssh and prints the table; each mode prints one line of numbers.
//
//   fleet_bench ssh|native N [--limit L] [--warm W] [--command CMD] [-o OPTION]... SSHD_DIR...
//       N targets, round-robin over the test sshds (each made by `scripts/test-sshd start DIR`):
//       ssh://tether-sh@127.0.0.1:PORT through the OpenSSH client, or ssh+native:// (libssh).
//       --limit is fleet max_connecting (default 64), -o an extra ssh -o option (ssh mode).
//       -> "COLD WARM WARM_TRUE CLOSE FAILED": seconds for run(CMD) (default "uname -a") on the
//       unopened fleet (connect included), the best of W (default 5) further runs on the open
//       sessions, the same for `true` (a builtin: no remote process), and closing all; then how
//       many target results were not ok (each is described on stderr).
//   fleet_bench spawn N [--warm W]
//       The floor under a warm fleet's `uname -a`: N `uname -a` processes started at once
//       (posix_spawn, no shell, no ssh), their output read through pipes, all reaped; what
//       running the command N times costs this machine whatever the tool.
//       -> "SECONDS": the best of W (default 5) rounds.
//   fleet_bench local N
//       N local /bin/sh sessions in one fleet.
//       -> "OPEN RUN CLOSE RSS ANON PSS HEAP": seconds for open(), run("true") and destroying
//       the fleet; then Tether's own bytes per idle session: growth of the process's resident
//       set, its anonymous part and its proportional set size (/proc/self/smaps_rollup), and of
//       the heap in use (mallinfo2), from before the fleet existed to after run("true"). The
//       shells are processes of their own and are not counted.
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "tether/fleet.hpp"

namespace {

using bench_clock = std::chrono::steady_clock;

int usage() {
  std::fputs(
      "usage: fleet_bench ssh|native N [--limit L] [--warm W] [--command CMD] [-o OPTION]...\n"
      "                               SSHD_DIR...\n"
      "       fleet_bench spawn N [--warm W]\n"
      "       fleet_bench local N\n",
      stderr);
  return 2;
}

[[noreturn]] void fail(const std::string& why) {
  std::fprintf(stderr, "fleet_bench: %s\n", why.c_str());
  std::exit(1);
}

std::size_t parse_count(const std::string& text) {
  char* end = nullptr;
  const long value = std::strtol(text.c_str(), &end, 10);
  if (*end != '\0' || value <= 0 || value > 1'000'000) fail("not a positive count: " + text);
  return static_cast<std::size_t>(value);
}

double since(bench_clock::time_point start) {
  return std::chrono::duration<double>(bench_clock::now() - start).count();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail("cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Prints what went wrong for each target that failed (for a command: is not ok()) and returns how
// many. A benchmark number from failed targets means little, so the caller reports the count.
std::size_t count_failures(const std::vector<tether::target_result>& results, const char* what,
                           bool ran_command = true) {
  std::size_t failed = 0;
  for (const auto& r : results) {
    if (ran_command ? r.ok() : !r.error) continue;
    if (++failed <= 10) {
      const std::string why = !r.outcome.error.empty() ? r.outcome.error
                              : r.error                ? r.error.message()
                                                       : "-";
      std::fprintf(stderr, "fleet_bench: %s: %s failed: %s; status %d%s; stderr '%s'\n", what,
                   r.target.c_str(), why.c_str(), r.outcome.exit_status.value_or(-1),
                   r.outcome.timed_out ? ", timed out" : "", r.outcome.err.c_str());
    }
  }
  if (failed > 10) std::fprintf(stderr, "fleet_bench: %s: ... %zu failed\n", what, failed);
  return failed;
}

// ---- ssh and native -------------------------------------------------------------------

// The best of `runs` runs of `command` on the open fleet, in seconds; adds its failures.
double best_warm(tether::fleet& fleet, const std::string& command, std::size_t runs,
                 std::size_t& failed) {
  std::optional<double> best;
  for (std::size_t round = 0; round < runs; ++round) {
    const auto start = bench_clock::now();
    const auto results = fleet.run(command);
    const double spent = since(start);
    if (!best || spent < *best) best = spent;
    failed += count_failures(results, "warm");
    for (const auto& r : results) {
      // A warm run that had to connect again would be a cold run in disguise.
      if (r.ok() && r.connected_at) {
        std::fprintf(stderr, "fleet_bench: warm: %s connected again\n", r.target.c_str());
      }
    }
  }
  return best.value_or(0.0);
}

int remote(bool native, const std::vector<std::string>& args) {
  std::size_t count = 0;
  std::size_t limit = 64;
  std::size_t warm_runs = 5;
  std::string command = "uname -a";
  std::vector<std::string> ssh_options;
  std::vector<std::string> dirs;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const bool has_value = i + 1 < args.size();
    if (args[i] == "--limit" && has_value) {
      limit = parse_count(args[++i]);
    } else if (args[i] == "--warm" && has_value) {
      warm_runs = parse_count(args[++i]);
    } else if (args[i] == "--command" && has_value) {
      command = args[++i];
    } else if (args[i] == "-o" && has_value) {
      ssh_options.push_back(args[++i]);
    } else if (count == 0) {
      count = parse_count(args[i]);
    } else {
      dirs.push_back(args[i]);
    }
  }
  if (count == 0 || dirs.empty()) return usage();

  std::vector<tether::session_options> sessions(count);
  for (std::size_t i = 0; i < count; ++i) {
    const std::string& dir = dirs[i % dirs.size()];
    std::string port = read_file(dir + "/port");
    port.erase(port.find_last_not_of(" \n") + 1);
    auto& s = sessions[i];
    s.target = std::string(native ? "ssh+native://" : "ssh://") + "tether-sh@127.0.0.1:" + port;
    s.ssh.config_file = dir + "/ssh_config";
    s.ssh.options = ssh_options;
    s.native.config_file = dir + "/ssh_config";
    s.native.known_hosts_file = dir + "/known_hosts";
    s.native.identity_files = {dir + "/user_key"};
    s.native.use_agent = false;
  }

  tether::fleet fleet(std::move(sessions), limit);
  auto start = bench_clock::now();
  const auto results = fleet.run(command);
  const double cold = since(start);
  std::size_t failed = count_failures(results, "cold");
  const double warm = best_warm(fleet, command, warm_runs, failed);
  // A builtin starts no process on the far side: what is left is the fleet's and SSH's own cost.
  const double warm_builtin = best_warm(fleet, "true", warm_runs, failed);
  start = bench_clock::now();
  fleet.close();
  const double close = since(start);
  std::printf("%.4f %.5f %.5f %.4f %zu (cold warm warm-true close seconds, failed)\n", cold, warm,
              warm_builtin, close, failed);
  return failed == 0 ? 0 : 1;
}

// ---- spawn -------------------------------------------------------------------------------

double spawn_round(std::size_t count) {
  const auto start = bench_clock::now();
  std::vector<pid_t> children;
  std::vector<pollfd> outputs;
  char program[] = "uname";
  char flag[] = "-a";
  char* argv[] = {program, flag, nullptr};
  for (std::size_t i = 0; i < count; ++i) {
    int ends[2];
    if (::pipe2(ends, O_CLOEXEC) != 0) fail(std::string("pipe: ") + std::strerror(errno));
    posix_spawn_file_actions_t actions;
    ::posix_spawn_file_actions_init(&actions);
    ::posix_spawn_file_actions_adddup2(&actions, ends[1], 1);
    pid_t child = -1;
    const int failed = ::posix_spawnp(&child, "uname", &actions, nullptr, argv, environ);
    ::posix_spawn_file_actions_destroy(&actions);
    ::close(ends[1]);
    if (failed != 0) fail(std::string("posix_spawn uname: ") + std::strerror(failed));
    children.push_back(child);
    outputs.push_back({ends[0], POLLIN, 0});
  }
  std::size_t open_pipes = outputs.size();
  char buffer[4096];
  while (open_pipes > 0) {
    if (::poll(outputs.data(), outputs.size(), -1) < 0 && errno != EINTR) fail("poll failed");
    for (auto& output : outputs) {
      if (output.fd < 0 || output.revents == 0) continue;
      if (::read(output.fd, buffer, sizeof buffer) <= 0) {
        ::close(output.fd);
        output.fd = -1;
        --open_pipes;
      }
    }
  }
  for (const pid_t child : children) ::waitpid(child, nullptr, 0);
  return since(start);
}

int spawn(const std::vector<std::string>& args) {
  if (args.empty()) return usage();
  const std::size_t count = parse_count(args[0]);
  std::size_t rounds = 5;
  if (args.size() == 3 && args[1] == "--warm") {
    rounds = parse_count(args[2]);
  } else if (args.size() != 1) {
    return usage();
  }
  double best = 1e9;
  for (std::size_t i = 0; i < rounds; ++i) best = std::min(best, spawn_round(count));
  std::printf("%.5f (seconds for %zu uname -a at once, best of %zu)\n", best, count, rounds);
  return 0;
}

// ---- local ------------------------------------------------------------------------------

struct memory {
  double rss = 0;   // bytes
  double anon = 0;  // bytes
  double pss = 0;   // bytes
  double heap = 0;  // bytes in use by malloc (small blocks and mmapped ones)
};

memory measure_memory() {
  memory m;
  std::istringstream rollup(read_file("/proc/self/smaps_rollup"));
  std::string key;
  double kib = 0;
  std::string line;
  while (std::getline(rollup, line)) {
    std::istringstream fields(line);
    if (!(fields >> key >> kib)) continue;
    if (key == "Rss:") m.rss = kib * 1024;
    if (key == "Pss:") m.pss = kib * 1024;
    if (key == "Anonymous:") m.anon = kib * 1024;
  }
  const struct mallinfo2 heap = mallinfo2();
  m.heap = static_cast<double>(heap.uordblks + heap.hblkhd);
  return m;
}

int local(std::size_t count) {
  // Each shell costs the fleet a few descriptors (pipes, pidfd); 1000 exceed the usual soft 1024.
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
  const std::vector<std::string> targets(count, "local");
  const memory before = measure_memory();
  std::optional<tether::fleet> fleet(std::in_place, targets);

  auto start = bench_clock::now();
  std::size_t failed = count_failures(fleet->open(), "open", false);
  const double open = since(start);

  start = bench_clock::now();
  failed += count_failures(fleet->run("true"), "run");
  const double run = since(start);
  // Measured with the results gone: they are the caller's, not the idle sessions'.
  const memory idle = measure_memory();

  start = bench_clock::now();
  fleet.reset();
  const double close = since(start);

  const auto per_session = [count](double grown) { return grown / static_cast<double>(count); };
  std::printf(
      "%.4f %.4f %.4f %.0f %.0f %.0f %.0f (open run close seconds; rss anon pss heap "
      "bytes per session)\n",
      open, run, close, per_session(idle.rss - before.rss), per_session(idle.anon - before.anon),
      per_session(idle.pss - before.pss), per_session(idle.heap - before.heap));
  if (failed != 0) fail(std::to_string(failed) + " sessions failed");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return usage();
  try {
    const std::string mode = argv[1];
    const std::vector<std::string> args(argv + 2, argv + argc);
    if (mode == "ssh" || mode == "native") return remote(mode == "native", args);
    if (mode == "local" && args.size() == 1) return local(parse_count(args[0]));
    if (mode == "spawn") return spawn(args);
    return usage();
  } catch (const std::exception& failure) {
    fail(failure.what());
  }
}
