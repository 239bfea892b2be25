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
  // 10 characters of [0-9A-Za-z] carry 59 bits: no output will hit them by chance, and a
  // command cannot see them (they are not in its positional parameters or variables). Short
  // matters: bash reads a command line one byte per read(), about 0.25 us a byte.
  thread_local random_pool pool;
  static constexpr char digits[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  std::uint64_t bits = pool.next();
  std::string text(10, '0');
  for (char& c : text) {
    c = digits[bits % 62];
    bits /= 62;
  }
  return {text.substr(0, 5), text.substr(5)};
}

}  // namespace tether::session_detail
