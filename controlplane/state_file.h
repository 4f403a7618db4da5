// The control plane's state across its own restart: what IKE and the LNS
// hold for established peers, written to a file that a restarted control
// plane reads before it reconciles the data plane, so that sessions the data
// plane kept forwarding are managed again instead of removed.
//
// One record per line: a kind, then name=value fields separated by spaces.
//   ike_sa icookie=x0011.. rcookie=x.. peer=3232235777 user=alice%20b
// Values are unsigned decimals, bytes as "x" and lowercase hex, or strings
// with every byte outside [A-Za-z0-9._:/@-] written %HH. The file holds keys:
// it is created 0600, never logged, and a reader's errors name the line and
// field, never a value.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace l2tpgw::cp::state {

struct StateError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Record {
 public:
  explicit Record(std::string kind, std::size_t line = 0) : _kind(std::move(kind)), _line(line) {}

  const std::string& kind() const noexcept { return _kind; }
  std::size_t line() const noexcept { return _line; }  // 0 for one built in memory

  Record& put(std::string_view name, std::uint64_t v);
  Record& put_bytes(std::string_view name, std::span<const std::uint8_t> v);
  Record& put_str(std::string_view name, std::string_view v);
  // A steady_clock instant, in ns since its epoch: CLOCK_MONOTONIC, which
  // holds across a restart of the process on the same boot.
  Record& put_time(std::string_view name, std::chrono::steady_clock::time_point t);

  bool has(std::string_view name) const noexcept;
  // Each getter throws StateError ("line N: kind: field F missing / not a
  // number / out of range / not hex") when the field cannot be read as asked.
  std::uint64_t u64(std::string_view name) const;
  std::uint32_t u32(std::string_view name) const;
  std::uint16_t u16(std::string_view name) const;
  std::uint8_t u8(std::string_view name) const;
  bool flag(std::string_view name) const;  // 0 or 1
  std::vector<std::uint8_t> bytes(std::string_view name) const;
  std::string str(std::string_view name) const;
  std::chrono::steady_clock::time_point time(std::string_view name) const;
  // Throws StateError "line N: kind: field F <what>", for checks of the
  // caller's own (a value out of what it knows).
  [[noreturn]] void fail(std::string_view name, std::string_view what) const;

  // The fields in the order put, encoded (for the writer and for tests).
  const std::vector<std::pair<std::string, std::string>>& fields() const noexcept { return _fields; }
  Record& put_encoded(std::string name, std::string value);

 private:
  const std::string* find(std::string_view name) const noexcept;
  std::uint64_t number(std::string_view name, std::uint64_t max) const;

  std::string _kind;
  std::size_t _line;
  std::vector<std::pair<std::string, std::string>> _fields;
};

std::string encode(std::span<const Record> records);
// Throws StateError naming `source` and the line of the first malformed one.
std::vector<Record> decode(std::string_view text, const std::string& source);

// Written to PATH.tmp (mode 0600), flushed, then renamed over PATH: a reader
// sees the old state or the new one, never half of one. Throws on error.
void write_file(const std::string& path, std::string_view text);
// nullopt when the file does not exist; throws on any other error.
std::optional<std::string> read_file(const std::string& path);

}  // namespace l2tpgw::cp::state
