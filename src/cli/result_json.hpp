#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tether/result.hpp"

namespace tether::cli {

/// True when `bytes` is well-formed UTF-8 (no overlongs, surrogates or code points past
/// U+10FFFF), i.e. when it can travel as a JSON string unchanged.
bool is_valid_utf8(std::string_view bytes);

/// One command's result as the `--json` object: stdout/stderr as strings when valid UTF-8,
/// otherwise as stdout_base64/stderr_base64, so no byte is ever altered.
nlohmann::json result_to_json(const result& done, std::string_view command);

}  // namespace tether::cli
