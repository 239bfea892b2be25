#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace tether::fleet_detail {

/// Cuts one stream's output chunks into lines, each with its '\n', holding a partial line
/// until its end arrives (a line over 64 KiB is passed on in pieces, so memory stays bounded).
/// Lines that lie whole in a chunk are passed on without a copy.
class line_splitter {
 public:
  using sink = std::function<void(std::string_view line)>;

  void feed(std::string_view bytes, const sink& emit);
  /// Pass on a partial line left at the end of the output (it has no '\n').
  void flush(const sink& emit);

 private:
  std::string partial_;
};

}  // namespace tether::fleet_detail
