#include <sys/resource.h>

#include <csignal>
#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/fleet_command.hpp"
#include "cli/interrupt_catcher.hpp"
#include "cli/run_command.hpp"
#include "cli/session_settings.hpp"
#include "cli/terminal_output.hpp"
#include "tether/error.hpp"

namespace {

using tether::cli::run_request;

// CLI11's PositiveNumber and NonNegativeNumber report their range as "0.000000 to 1797693...":
// these say it plainly.
CLI::Validator number_at_least(double floor, bool floor_allowed, const std::string& wording) {
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        double value = 0;
        if (!CLI::detail::lexical_cast(text, value)) return "'" + text + "' is not a number";
        const bool fine = floor_allowed ? value >= floor : value > floor;
        return fine ? std::string() : "must be " + wording + ", not " + text;
      },
      floor_allowed ? "NUMBER >= 0" : "NUMBER > 0");
}
const CLI::Validator positive_number = number_at_least(0, false, "more than 0");
const CLI::Validator non_negative_number = number_at_least(0, true, "0 or more");

constexpr const char* exit_rule_single = R"(
Exit status with one session (no -H): 0 when every command succeeded; otherwise the status
of the last command that failed (124 if it timed out); 125 when Tether itself failed (the
shell could not start or died: later commands are not run; or the output could not be
written); 141 when the reader of the output went away; 2 for bad usage. Ctrl-C, SIGTERM
and SIGHUP interrupt the running command, show its output, run nothing more and end tether
by the signal (a shell shows 130 / 143 / 129); a second one kills a command that ignores the
first, with its shell; a third ends tether at once.)";

constexpr const char* exit_rule_fleet = R"(
Exit status with targets (-H, --hosts-file, repl, script): 0 when every command succeeded
on every target; otherwise the worst that happened anywhere: 125 a target could not be
reached or started, or its shell died (it runs no more commands); else 124 a command timed
out; else 1 a command exited non-zero. Ctrl-C interrupts the running commands (the repl
goes on; run and script end by the signal once the sessions are closed, which a shell shows
as 130), as do SIGTERM and SIGHUP (143 / 129); a second Ctrl-C kills at once the commands
that ignore the first; 141 when the reader of the output went away; 125 when it could not be
written; 2 for bad usage.)";

constexpr const char* run_examples = R"(
Each COMMAND runs in the same shell, in order, so `cd /tmp` then `pwd` prints /tmp.

Examples:
  tether run -- 'cd /tmp' pwd
  tether run --shell bash --json -- 'echo hi' 'ls /nonexistent'
  tether run --target ssh://fred@example.org -- hostname uptime
  tether run --target ssh+native://fred@example.org:2222 -- hostname uptime
  tether run -H web1,web2,fred@web3:2222 -- uptime 'df -h /'
  tether run --hosts-file hosts.txt --output gathered -- 'uname -r'
  tether run -H local,local:bash,local:zsh --json -- 'echo $0')";

constexpr const char* targets_help = R"(
Targets: ssh://[user@]host[:port] (through the ssh client), ssh+native://[user@]host[:port]
(libssh), local (/bin/sh here), local:COMMAND (a local shell, e.g. local:bash); a bare
[user@]host[:port] means ssh://. A hosts file has one target per line; # starts a comment.)";

void add_session_options(CLI::App* command, run_request& request) {
  command->add_option("--known-hosts", request.known_hosts,
                      "ssh+native: the known_hosts file (default ~/.ssh/known_hosts)");
  command
      ->add_option("--host-keys", request.host_keys,
                   "ssh+native: host key checking: strict, accept-new or off")
      ->check(CLI::IsMember({"strict", "accept-new", "off"}))
      ->capture_default_str();
  command->add_option("--ssh-config,-F", request.ssh_config,
                      "ssh_config file to use instead of ~/.ssh/config");
  command->add_option("--identity,-i", request.identity_file, "Private key file for ssh");
  command->add_option("--ssh-option,-o", request.ssh_options,
                      "Extra ssh -o setting, e.g. StrictHostKeyChecking=accept-new (repeatable)");
  command
      ->add_option("--connect-timeout", request.connect_timeout_s,
                   "Seconds the SSH connection may take to set up")
      ->capture_default_str()
      ->check(positive_number);
  command
      ->add_option("--timeout", request.timeout_s,
                   "Seconds each command may take (fractions allowed; 0 = none)")
      ->capture_default_str()
      ->check(non_negative_number);
  command
      ->add_option("--idle-timeout", request.idle_timeout_s,
                   "Interrupt a command that prints nothing for this many seconds")
      ->check(positive_number);
  command->add_option("--max-output", request.max_output,
                      "Keep at most this many bytes of each stream per command");
  command->add_flag("--json", request.json,
                    "One JSON object per command (per target) per line; see README.md");
  command->add_flag("--echo,-x", request.echo, "Print each command on stderr before running it");
}

void add_fleet_options(CLI::App* command, run_request& request) {
  command->add_option("-H,--hosts", request.hosts,
                      "Targets, comma-separated (repeatable); see 'Targets' below");
  command->add_option("--hosts-file", request.hosts_file, "A file of targets, one per line")
      ->check(CLI::ExistingFile);
  command
      ->add_option("--output", request.output,
                   "How several targets' output is shown: prefixed (each line as it comes, "
                   "the default; on a terminal the names in colour unless NO_COLOR is set), "
                   "blocks (one block per target), gathered (identical output once, under the "
                   "list of its targets, like clush -b)")
      ->check(CLI::IsMember({"prefixed", "blocks", "gathered"}));
  command->add_flag_callback(
      "-b,--gather", [&request] { request.output = "gathered"; }, "Same as --output gathered");
  command
      ->add_option("--fanout,-f", request.fanout,
                   "How many targets may be connecting at once (sshd's MaxStartups limits it)")
      ->capture_default_str()
      ->check(positive_number);
}

// A fleet of a thousand sessions needs four thousand descriptors: take what the hard limit
// allows rather than fail at the default soft limit of 1024.
void raise_descriptor_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

int run_what_was_asked(const tether::cli::run_request& request, std::vector<std::string> targets,
                       bool run, bool repl) {
  if (run) {
    if (request.hosts.empty() && request.hosts_file.empty()) {
      return tether::cli::run_commands(request);
    }
    if (targets.empty()) {
      std::cerr << "tether: -H or --hosts-file named no target\n";
      return tether::cli::exit_code::usage;
    }
    return tether::cli::run_fleet(request, targets, request.commands, false);
  }
  if (targets.empty()) targets.emplace_back("local");
  if (repl) return tether::cli::run_repl(request, targets);
  return tether::cli::run_script(request, targets);
}

}  // namespace

int main(int argc, char** argv) {
  // A closed stdout must be an error we handle (stop, end the session cleanly), not a death
  // that leaves the session's processes running.
  std::signal(SIGPIPE, SIG_IGN);
  tether::cli::hold_closed_standard_descriptors();
  raise_descriptor_limit();
  CLI::App app{
      "Tether: keep shells open and run commands in them, each with its exact stdout, "
      "stderr and exit status; on one shell or on many hosts at once."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "tether 0.2.0");

  run_request request;
  auto* run =
      app.add_subcommand("run", "Run commands, in order, in one shell session (or one per target)");
  run->add_option("--shell,-s", request.shell,
                  "The shell to keep open, as a command line (default /bin/sh), e.g. bash, "
                  "'ssh fred'");
  run->add_option("--target,-t", request.target,
                  "Run the shell on ssh://[user@]host[:port] (through the ssh client) or "
                  "ssh+native://[user@]host[:port] (libssh); ssh_config aliases work");
  add_session_options(run, request);
  add_fleet_options(run, request);
  run->add_option("commands", request.commands, "Shell command lines, each run as one command")
      ->required();
  run->footer(std::string(run_examples) + "\n" + targets_help + "\n" + exit_rule_single + "\n" +
              exit_rule_fleet);
  run->get_option("--target")->excludes("--shell");
  run->get_option("-H")->excludes("--target")->excludes("--shell");
  run->get_option("--hosts-file")->excludes("--target")->excludes("--shell");

  auto* repl =
      app.add_subcommand("repl", "An interactive prompt: each line runs on every target's session");
  add_session_options(repl, request);
  add_fleet_options(repl, request);
  repl->add_option("targets", request.positional_targets, "Targets (default: local)");
  repl->footer(std::string(R"(
Line editing and history (~/.tether_history) as in a shell; on a terminal each target's name in
a colour of its own and stderr in red (NO_COLOR=1: no colours); a
command's exit status is shown when it is not 0. Ctrl-C interrupts the running command on
every target (the sessions and their state stay); Ctrl-D ends the repl.

Examples:
  tether repl                       # a local /bin/sh
  tether repl web1 web2 ssh+native://fred@web3)") +
               "\n" + targets_help);

  auto* script = app.add_subcommand(
      "script", "Run a file's commands, one after another, in each target's session");
  add_session_options(script, request);
  add_fleet_options(script, request);
  script->add_option("file", request.script_file, "The script")->required();
  script->add_option("targets", request.positional_targets, "Targets (default: local)");
  script->add_flag("--keep-going,-k", request.keep_going,
                   "Run every command on every target, even after one fails there");
  script->footer(std::string(R"(
The file is cut into its top-level commands (a command spanning lines, such as if...fi or a
here-document, stays whole); each runs as one command, its result shown as for `tether run`.
A target stops at its first failing command unless --keep-going.)") +
                 "\n" + targets_help + "\n" + exit_rule_fleet);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& help) {
    return app.exit(help);
  } catch (const CLI::CallForAllHelp& help) {
    return app.exit(help);
  } catch (const CLI::CallForVersion& version) {
    return app.exit(version);
  } catch (const CLI::ParseError& failure) {
    std::cerr << "tether: " << failure.what() << "\n"
              << "Run 'tether --help' or 'tether " << (argc > 1 ? argv[1] : "run")
              << " --help' for usage.\n";
    return tether::cli::exit_code::usage;
  }

  std::vector<std::string> targets;
  try {
    targets = tether::cli::requested_targets(request);
  } catch (const tether::error& failure) {
    std::cerr << "tether: " << failure.what() << "\n";
    return tether::cli::exit_code::usage;
  }
  for (const auto& one : request.positional_targets) targets.push_back(one);

  const int status = run_what_was_asked(request, std::move(targets), run->parsed(), repl->parsed());
  // Ended by a signal: the sessions are closed by now; end as the signal would.
  tether::cli::die_of_recorded_signal();
  return status;
}
