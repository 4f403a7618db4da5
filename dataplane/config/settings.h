// Typed, line-aware access to libconfig settings for load_config: every
// accessor either returns a validated value or throws ConfigError naming the
// file and line of the offending setting.
#pragma once

#include <libconfig.h++>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace l2tpgw::config_detail {

using libconfig::Setting;

// Parses the file into lc; a missing file, a directory or a syntax error
// throws ConfigError with the file and line.
void read_file(libconfig::Config& lc, const std::string& path);

class Reader {
 public:
  explicit Reader(std::string file) : _file(std::move(file)) {}

  const std::string& file() const noexcept { return _file; }
  std::string where(const Setting& s) const;
  [[noreturn]] void fail(const Setting& s, const std::string& what) const;

  // Unknown keys are errors: a typo must never be silently ignored.
  void check_keys(const Setting& group, std::initializer_list<std::string_view> allowed) const;
  void require_group(const Setting& s) const;
  void require_list(const Setting& s) const;  // a list ( ) or an array [ ]

  const Setting* find(const Setting& group, const char* key) const;
  const Setting& require(const Setting& group, const char* key) const;

  std::string as_string(const Setting& s) const;
  // int or int64 (the L suffix), within [min, max].
  std::int64_t as_int(const Setting& s, std::int64_t min, std::int64_t max) const;
  // A 32-bit value written in hex: libconfig stores 0x80000000..0xffffffff as
  // negative ints, so the bit pattern is what was written.
  std::uint32_t as_u32(const Setting& s) const;

  bool as_bool(const Setting& s) const;
  // A key written as hex digits (an optional 0x prefix), exactly out.size()
  // bytes for `alg`. Errors name the length, never the key: keys are not
  // logged.
  void as_hex_key(const Setting& s, std::span<std::uint8_t> out, std::string_view alg) const;

  std::optional<std::string> opt_string(const Setting& group, const char* key) const;
  std::optional<bool> opt_bool(const Setting& group, const char* key) const;
  std::optional<std::int64_t> opt_int(const Setting& group, const char* key, std::int64_t min,
                                      std::int64_t max) const;

 private:
  std::string _file;
};

}  // namespace l2tpgw::config_detail
