#include "protocol/marker_search.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>

namespace {

using tether::protocol::marker_scan;
constexpr auto npos = std::string_view::npos;

// Every test runs with each scan this CPU has (AVX2, SSE2, memmem alone), so the slower ones
// stay right on machines that pick them.
class marker_search : public testing::TestWithParam<marker_scan> {
 protected:
  std::size_t find_marker(std::string_view haystack, std::string_view needle) const {
    return tether::protocol::find_marker(haystack, needle, GetParam());
  }
};

TEST_P(marker_search, finds_the_marker_at_every_offset_around_the_blocks_it_scans) {
  const std::string marker = "Xq7Lm2Rt9Z";
  for (std::size_t length = marker.size(); length < 160; ++length) {
    for (std::size_t at = 0; at + marker.size() <= length; ++at) {
      std::string haystack(length, '.');
      haystack.replace(at, marker.size(), marker);
      ASSERT_EQ(find_marker(haystack, marker), at) << "length " << length;
    }
  }
}

TEST_P(marker_search, the_first_of_two_markers_is_found) {
  const std::string marker = "Xq7Lm2Rt9Z";
  const std::string haystack = std::string(70, 'a') + marker + std::string(40, 'b') + marker;
  EXPECT_EQ(find_marker(haystack, marker), 70U);
}

TEST_P(marker_search, a_missing_marker_is_npos) {
  EXPECT_EQ(find_marker(std::string(1000, '\0'), "Xq7Lm2Rt9Z"), npos);
  EXPECT_EQ(find_marker("short", "Xq7Lm2Rt9Z"), npos);
  EXPECT_EQ(find_marker("", "X"), npos);
}

TEST_P(marker_search, ends_that_match_with_a_different_middle_are_not_the_marker) {
  // Every 16 bytes a decoy with the marker's first and last bytes.
  std::string haystack;
  for (int i = 0; i < 100; ++i) haystack += "Xq7Lm2Rt9_ZXxxxZ";
  EXPECT_EQ(find_marker(haystack, "Xq7Lm2Rt9Z"), npos);
  haystack += "Xq7Lm2Rt9Z";
  EXPECT_EQ(find_marker(haystack, "Xq7Lm2Rt9Z"), 1600U);
}

TEST_P(marker_search, output_made_of_the_markers_ends_is_still_searched_right) {
  // First and last bytes match at every position: the search must hand over to its linear
  // fallback and still answer right, wherever the marker is.
  const std::string marker = "aaaaabaaaa";
  for (const std::size_t at : {0UL, 5UL, 300UL, 4000UL, 9990UL}) {
    std::string haystack(10000, 'a');
    haystack.replace(at, marker.size(), marker);
    EXPECT_EQ(find_marker(haystack, marker), std::string_view(haystack).find(marker)) << at;
  }
}

TEST_P(marker_search, needles_of_one_and_two_bytes) {
  const std::string haystack = std::string(100, 'z') + "ab" + std::string(100, 'z');
  EXPECT_EQ(find_marker(haystack, "a"), 100U);
  EXPECT_EQ(find_marker(haystack, "ab"), 100U);
  EXPECT_EQ(find_marker(haystack, "ba"), npos);
  EXPECT_EQ(find_marker(haystack, ""), 0U);
}

TEST_P(marker_search, agrees_with_string_find_on_random_text_of_few_letters) {
  std::mt19937 random(7);
  std::uniform_int_distribution<int> letter(0, 2);
  for (int round = 0; round < 3000; ++round) {
    std::string haystack(static_cast<std::size_t>(random() % 300), ' ');
    for (char& c : haystack) c = static_cast<char>('a' + letter(random));
    std::string needle(1 + random() % 12, ' ');
    for (char& c : needle) c = static_cast<char>('a' + letter(random));
    ASSERT_EQ(find_marker(haystack, needle), std::string_view(haystack).find(needle))
        << needle << " in " << haystack;
  }
}

TEST(marker_search_default, is_the_fastest_scan_this_cpu_has) {
  const std::string haystack = std::string(100, 'z') + "Xq7Lm2Rt9Z";
  EXPECT_EQ(tether::protocol::find_marker(haystack, "Xq7Lm2Rt9Z"), 100U);
  EXPECT_FALSE(tether::protocol::available_marker_scans().empty());
  EXPECT_EQ(tether::protocol::available_marker_scans().back(), marker_scan::memmem);
  EXPECT_EQ(tether::protocol::default_marker_scan(),
            tether::protocol::available_marker_scans().front());
  // Where the CPU has AVX2 (x86-64 from 2013 on, this CI's machines), it is the one used.
  if (__builtin_cpu_supports("avx2")) {
    EXPECT_EQ(tether::protocol::default_marker_scan(), marker_scan::avx2);
  }
}

std::string scan_name(const testing::TestParamInfo<marker_scan>& info) {
  switch (info.param) {
    case marker_scan::avx2:
      return "avx2";
    case marker_scan::sse2:
      return "sse2";
    case marker_scan::memmem:
      return "memmem";
  }
  return "unknown";
}

INSTANTIATE_TEST_SUITE_P(scans, marker_search,
                         testing::ValuesIn(tether::protocol::available_marker_scans().begin(),
                                           tether::protocol::available_marker_scans().end()),
                         scan_name);

}  // namespace
