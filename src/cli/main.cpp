#include <csignal>
#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/run_command.hpp"

namespace {

constexpr const char* run_footer = R"(
Each COMMAND runs in the same shell, in order, so `cd /tmp` then `pwd` prints /tmp.
Exit status: 0 when every command succeeded; otherwise the status of the last command
that failed (124 if it timed out); 125 when Tether itself failed (the shell could not
start or died: later commands are not run); 141 when the reader of the output went away
(later commands are not run); 2 for bad usage.

Examples:
  tether run -- 'cd /tmp' pwd
  tether run --shell bash --json -- 'echo hi' 'ls /nonexistent'
  tether run --target ssh://fred@example.org -- hostname uptime
  tether run --target ssh+native://fred@example.org:2222 -- hostname uptime
  tether run --shell 'ssh fred' --timeout 5 -- hostname uptime)";

}  // namespace

int main(int argc, char** argv) {
  // A closed stdout must be an error we handle (stop, end the session cleanly), not a death
  // that leaves the session's processes running.
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{
      "Tether: keep shells open and run commands in them, each with its exact stdout, "
      "stderr and exit status."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "tether 0.1.0");

  tether::cli::run_request request;
  auto* run = app.add_subcommand("run", "Run commands, in order, in one shell session");
  run->add_option("--shell,-s", request.shell,
                  "The shell to keep open, as a command line (default /bin/sh), e.g. bash, "
                  "'ssh fred'");
  run->add_option("--target,-t", request.target,
                  "Run the shell on ssh://[user@]host[:port] (through the ssh client) or "
                  "ssh+native://[user@]host[:port] (libssh); ssh_config aliases work");
  run->add_option("--known-hosts", request.known_hosts,
                  "ssh+native: the known_hosts file (default ~/.ssh/known_hosts)");
  run->add_option("--host-keys", request.host_keys,
                  "ssh+native: host key checking: strict, accept-new or off")
      ->check(CLI::IsMember({"strict", "accept-new", "off"}))
      ->capture_default_str();
  run->add_option("--ssh-config,-F", request.ssh_config,
                  "ssh_config file to use instead of ~/.ssh/config");
  run->add_option("--identity,-i", request.identity_file, "Private key file for ssh");
  run->add_option("--ssh-option,-o", request.ssh_options,
                  "Extra ssh -o setting, e.g. StrictHostKeyChecking=accept-new (repeatable)");
  run->add_option("--connect-timeout", request.connect_timeout_s,
                  "Seconds the SSH connection may take to set up")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  run->add_option("--timeout", request.timeout_s,
                  "Seconds each command may take (fractions allowed; 0 = none)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  run->add_option("--idle-timeout", request.idle_timeout_s,
                  "Interrupt a command that prints nothing for this many seconds")
      ->check(CLI::PositiveNumber);
  run->add_option("--max-output", request.max_output,
                  "Keep at most this many bytes of each stream per command");
  run->add_flag("--json", request.json,
                "One JSON object per command per line (see README.md for the fields)");
  run->add_flag("--echo,-x", request.echo, "Print each command on stderr before running it");
  run->add_option("commands", request.commands, "Shell command lines, each run as one command")
      ->required();
  run->footer(run_footer);
  run->get_option("--target")->excludes("--shell");

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
              << "Run 'tether --help' or 'tether run --help' for usage.\n";
    return tether::cli::exit_code::usage;
  }
  return tether::cli::run_commands(request);
}
