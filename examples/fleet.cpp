// One command on many targets at once; the sessions stay open for the next one.
//   ./example_fleet local local:bash ssh://web1 ssh+native://fred@web2
#include <cstdio>
#include <string>
#include <vector>

#include <tether/tether.hpp>

int main(int argc, char** argv) {
  std::vector<std::string> targets(argv + 1, argv + argc);
  if (targets.empty()) targets = {"local", "local:bash"};
  tether::fleet hosts(targets);
  tether::fleet_run_options options;
  options.timeout = tether::seconds{10};
  options.on_line = [](const tether::target_line& line) {  // as it arrives, tagged
    std::printf("%s: %.*s", line.target.c_str(), static_cast<int>(line.text.size()),
                line.text.data());
  };
  hosts.run("uname -n; cd /tmp", options);
  for (const auto& done : hosts.run("pwd")) {  // warm: no new connection
    if (done.ok()) {
      std::printf("%s is in %s", done.target.c_str(), done.outcome.out.c_str());
    } else {
      std::printf("%s failed: %s\n", done.target.c_str(), done.outcome.error.c_str());
    }
  }
}
