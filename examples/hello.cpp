// The README's library example: one shell, several commands, state kept between them.
#include <iostream>

#include <tether/tether.hpp>

int main() {
  tether::session shell;  // /bin/sh, kept open
  shell.run("cd /tmp && export GREETING=hello");
  auto r = shell.run("echo \"$GREETING from $(pwd)\"; echo oops >&2; exit_code=3; (exit 3)");
  std::cout << "stdout: " << r.out;                   // hello from /tmp
  std::cout << "stderr: " << r.err;                   // oops
  std::cout << "status: " << *r.exit_status << "\n";  // 3
  auto t = shell.run("sleep 10", {.timeout = tether::seconds{0.2}});
  std::cout << "timed out: " << t.timed_out << ", still in " << shell.run("pwd").out;
}
