#pragma once

#include <cstddef>
#include <span>
#include <string_view>

namespace tether::protocol {

/// Where `needle` first occurs in `haystack`, or std::string_view::npos: what memmem answers,
/// at a speed that does not depend on the needle.
///
/// Every byte of a command's output passes through this search. glibc's memmem (2.36) skips
/// ahead by a table of byte pairs; a needle holding a pair that hashes like the output's own
/// pairs leaves it crawling: with some random markers a 256 MiB capture of zeros took 1.6 s
/// instead of 0.25 s, 87% of it in memmem. This search looks at 32 positions at a time for the
/// needle's first and last bytes together (64 with AVX2 where the CPU has it, else SSE2,
/// x86-64's baseline) and compares the whole needle only where both match. Output built to
/// match both ends at many positions would make each position cost a comparison of the needle,
/// so once those comparisons outweigh the bytes scanned, memmem takes the rest.
std::size_t find_marker(std::string_view haystack, std::string_view needle);

/// How find_marker scans: the fastest this CPU runs is used; tests and the fuzzer try each.
enum class marker_scan { avx2, sse2, memmem };
/// The scans this CPU can run, fastest first.
std::span<const marker_scan> available_marker_scans();
/// The scan find_marker uses: the first of available_marker_scans().
marker_scan default_marker_scan();
/// find_marker with the given scan (AVX2 on a CPU without it: SSE2).
std::size_t find_marker(std::string_view haystack, std::string_view needle, marker_scan scan);

}  // namespace tether::protocol
