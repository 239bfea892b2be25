#include "transport/ssh_target.hpp"

#include <gtest/gtest.h>

namespace {

using tether::transport::parse_ssh_target;

TEST(ssh_target, host_alone) {
  std::string why;
  const auto target = parse_ssh_target("ssh://fred", why);
  ASSERT_TRUE(target) << why;
  EXPECT_EQ(target->host, "fred");
  EXPECT_EQ(target->user, "");
  EXPECT_FALSE(target->port);
}

TEST(ssh_target, user_host_and_port) {
  std::string why;
  const auto target = parse_ssh_target("ssh://bob@example.org:2222", why);
  ASSERT_TRUE(target) << why;
  EXPECT_EQ(target->user, "bob");
  EXPECT_EQ(target->host, "example.org");
  EXPECT_EQ(target->port, 2222);
}

TEST(ssh_target, ipv6_in_brackets) {
  std::string why;
  const auto target = parse_ssh_target("ssh://root@[::1]:22", why);
  ASSERT_TRUE(target) << why;
  EXPECT_EQ(target->host, "::1");
  EXPECT_EQ(target->port, 22);
}

TEST(ssh_target, bad_targets_say_why) {
  const std::pair<const char*, const char*> cases[] = {
      {"fred", "an SSH target starts with ssh://"},
      {"ssh://", "the host in the SSH target is empty or has characters ssh would misread"},
      {"ssh://-oProxyCommand=x",
       "the host in the SSH target is empty or has characters ssh "
       "would misread"},
      {"ssh://a b", "the host in the SSH target is empty or has characters ssh would misread"},
      {"ssh://@host",
       "the user name in the SSH target is empty or has characters ssh would "
       "misread"},
      {"ssh://host:0", "the port in the SSH target must be a number from 1 to 65535"},
      {"ssh://host:65536", "the port in the SSH target must be a number from 1 to 65535"},
      {"ssh://host:22x", "the port in the SSH target must be a number from 1 to 65535"},
      {"ssh://host:", "the port in the SSH target must be a number from 1 to 65535"},
      {"ssh://::1", "write an IPv6 address in brackets: ssh://[::1]:22"},
      {"ssh://[::1", "the SSH target has '[' without ']'"},
  };
  for (const auto& [text, expected] : cases) {
    std::string why;
    EXPECT_FALSE(parse_ssh_target(text, why)) << text;
    EXPECT_EQ(why, expected) << text;
  }
}

}  // namespace
