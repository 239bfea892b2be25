#include "cli/result_json.hpp"

#include <chrono>

#include "cli/base64.hpp"

namespace tether::cli {

bool is_valid_utf8(std::string_view bytes) {
  std::size_t i = 0;
  const std::size_t n = bytes.size();
  while (i < n) {
    const auto lead = static_cast<unsigned char>(bytes[i]);
    if (lead < 0x80) {
      ++i;
      continue;
    }
    std::size_t length = 0;
    unsigned char low = 0x80;
    unsigned char high = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      if (lead == 0xE0) low = 0xA0;   // no overlongs
      if (lead == 0xED) high = 0x9F;  // no surrogates
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      if (lead == 0xF0) low = 0x90;
      if (lead == 0xF4) high = 0x8F;  // nothing past U+10FFFF
    } else {
      return false;
    }
    if (i + length > n) return false;
    const auto second = static_cast<unsigned char>(bytes[i + 1]);
    if (second < low || second > high) return false;
    for (std::size_t k = 2; k < length; ++k) {
      const auto next = static_cast<unsigned char>(bytes[i + k]);
      if (next < 0x80 || next > 0xBF) return false;
    }
    i += length;
  }
  return true;
}

namespace {

void put_bytes(nlohmann::json& object, const char* name, std::string_view bytes) {
  if (is_valid_utf8(bytes)) {
    object[name] = bytes;
  } else {
    object[std::string(name) + "_base64"] = base64_encode(bytes);
  }
}

}  // namespace

nlohmann::json result_to_json(const result& done, std::string_view command) {
  nlohmann::json object;
  object["target"] = done.target;
  put_bytes(object, "command", command);
  put_bytes(object, "stdout", done.out);
  put_bytes(object, "stderr", done.err);
  object["exit_status"] =
      done.exit_status ? nlohmann::json(*done.exit_status) : nlohmann::json(nullptr);
  object["timed_out"] = done.timed_out;
  object["restarted"] = done.restarted;
  object["duration_s"] = std::chrono::duration<double>(done.duration).count();
  if (done.out_truncated) object["stdout_truncated"] = true;
  if (done.err_truncated) object["stderr_truncated"] = true;
  if (!done.error.empty()) object["error"] = done.error;
  return object;
}

}  // namespace tether::cli
