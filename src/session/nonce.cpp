#include "session/nonce.hpp"

#include <errno.h>
#include <sys/random.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <stdexcept>

namespace tether::session_detail {

namespace {

// getrandom() is asked for a block at a time: one syscall per 32 commands instead of each.
class random_pool {
 public:
  std::uint64_t next() {
    if (used_ == pool_.size()) refill();
    return pool_[used_++];
  }

 private:
  void refill() {
    auto* bytes = reinterpret_cast<char*>(pool_.data());
    std::size_t filled = 0;
    while (filled < sizeof pool_) {
      const ssize_t got = ::getrandom(bytes + filled, sizeof pool_ - filled, 0);
      if (got < 0) {
        if (errno == EINTR) continue;
        throw std::runtime_error("getrandom failed");
      }
      filled += static_cast<std::size_t>(got);
    }
    used_ = 0;
  }

  std::array<std::uint64_t, 32> pool_{};
  std::size_t used_ = pool_.size();
};

}  // namespace

protocol::nonce make_nonce() {
  // 12 characters of [0-9A-Za-z] carry 71 bits. Short matters: bash reads a command line one
  // byte per read(). No character here is special to echo or to the shell.
  thread_local random_pool pool;
  static constexpr char digits[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  std::uint64_t bits = pool.next();
  std::uint64_t more = pool.next();
  std::string text(12, '0');
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (i == 10) bits = more;  // 62^10 < 2^64: refill for the last two characters
    text[i] = digits[bits % 62];
    bits /= 62;
  }
  return {text.substr(0, 6), text.substr(6)};
}

}  // namespace tether::session_detail
