// ESP anti-replay window (RFC 4303 §3.4.3), 32-bit sequence numbers.
//
// The bitmap is a ring of 64-bit words one word longer than the window
// (RFC 6479): advancing the window clears whole words instead of shifting
// the map, so a jump of any size costs at most window/64 + 1 stores.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>

namespace l2tpgw {

class ReplayWindow {
 public:
  static constexpr std::uint32_t max_window = 4096;

  // window: packets, a multiple of 64 in [64, max_window], or 0 for a
  // static SA whose operator switched anti-replay off (every number is then
  // accepted); the caller validates it (config and SA installation do).
  explicit ReplayWindow(std::uint32_t window = 64) noexcept
      : _window(window), _words(window / 64 + 1) {}

  enum class Verdict : std::uint8_t { ok, replayed, too_old };

  // Cheap test before any crypto: would seq be accepted now?
  Verdict check(std::uint32_t seq) const noexcept {
    if (_window == 0) {
      return Verdict::ok;
    }
    if (seq == 0) {
      return Verdict::too_old;  // §3.3.3: the first packet sent has seq 1
    }
    if (seq > _top) {
      return Verdict::ok;
    }
    if (std::uint64_t{seq} + _window <= _top) {
      return Verdict::too_old;
    }
    return test_bit(seq) ? Verdict::replayed : Verdict::ok;
  }

  // After the ICV verified (§3.4.3: the window is updated only then).
  // Checks again, since a duplicate may sit in the same burst.
  Verdict check_and_update(std::uint32_t seq) noexcept {
    const Verdict v = check(seq);
    if (v != Verdict::ok || _window == 0) {
      return v;
    }
    if (seq > _top) {
      advance(seq);
    }
    set_bit(seq);
    return Verdict::ok;
  }

  std::uint32_t top() const noexcept { return _top; }
  std::uint32_t window() const noexcept { return _window; }

 private:
  std::uint32_t word_of(std::uint32_t seq) const noexcept { return (seq / 64) % _words; }

  bool test_bit(std::uint32_t seq) const noexcept {
    return (_bits[word_of(seq)] >> (seq % 64)) & 1u;
  }
  void set_bit(std::uint32_t seq) noexcept { _bits[word_of(seq)] |= std::uint64_t{1} << (seq % 64); }

  void advance(std::uint32_t seq) noexcept {
    const std::uint64_t from = _top / 64;
    const std::uint64_t to = seq / 64;
    const std::uint64_t n = std::min<std::uint64_t>(to - from, _words);
    for (std::uint64_t i = 1; i <= n; ++i) {
      _bits[(from + i) % _words] = 0;
    }
    _top = seq;
  }

  std::uint32_t _window;
  std::uint32_t _words;
  std::uint32_t _top = 0;
  std::array<std::uint64_t, max_window / 64 + 1> _bits{};
};

}  // namespace l2tpgw
