#include "cli/result_json.hpp"

#include <gtest/gtest.h>

#include "cli/base64.hpp"

namespace {

using tether::cli::base64_encode;
using tether::cli::is_valid_utf8;

TEST(base64, encodes_rfc4648_vectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode(std::string("\0\xff", 2)), "AP8=");
}

TEST(utf8, accepts_well_formed_text) {
  EXPECT_TRUE(is_valid_utf8("plain"));
  EXPECT_TRUE(is_valid_utf8("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_TRUE(is_valid_utf8(std::string("nul\0inside", 10)));
}

TEST(utf8, rejects_malformed_text) {
  EXPECT_FALSE(is_valid_utf8("\xff"));
  EXPECT_FALSE(is_valid_utf8("\xc3"));              // truncated
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));          // overlong
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
}

TEST(result_json, text_output_is_a_string_and_binary_is_base64) {
  tether::result done;
  done.out = "hi\n";
  done.err = "\xff";
  done.exit_status = 0;
  done.target = "local:/bin/sh";
  const auto object = tether::cli::result_to_json(done, "echo hi");
  EXPECT_EQ(object["stdout"], "hi\n");
  EXPECT_FALSE(object.contains("stderr"));
  EXPECT_EQ(object["stderr_base64"], "/w==");
  EXPECT_EQ(object["exit_status"], 0);
  EXPECT_EQ(object["command"], "echo hi");
  EXPECT_EQ(object["timed_out"], false);
}

TEST(result_json, missing_status_is_null) {
  tether::result done;
  done.timed_out = true;
  const auto object = tether::cli::result_to_json(done, "sleep 9");
  EXPECT_TRUE(object["exit_status"].is_null());
  EXPECT_EQ(object["timed_out"], true);
}

}  // namespace
