#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tether::cli {

/// "web1,web2, fred@web3:2222" (-H): the targets, blanks around commas ignored, empty entries
/// dropped.
std::vector<std::string> parse_target_list(std::string_view list);

/// A hosts file: one target per line; blank lines and `#` comments ignored. On a malformed
/// line (more than one word), `why` names it and the result is empty.
std::vector<std::string> parse_hosts_file(std::string_view content, std::string& why);

}  // namespace tether::cli
