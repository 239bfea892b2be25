// libFuzzer target: the ssh:// target parser, a parser of user input. Whatever it accepts must
// be safe to hand to ssh as words: no host or user that starts with '-' or holds a space.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "transport/ssh_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  std::string why;
  const auto target = tether::transport::parse_ssh_target(input, why);
  if (!target) {
    if (why.empty()) std::abort();
    return 0;
  }
  if (target->host.empty() || target->host[0] == '-') std::abort();
  if (!target->user.empty() && target->user[0] == '-') std::abort();
  for (const std::string* word : {&target->host, &target->user}) {
    if (word->find_first_of(" \t\n'\"\\$;&|") != std::string::npos) std::abort();
  }
  if (target->port && (*target->port < 1 || *target->port > 65535)) std::abort();
  return 0;
}
