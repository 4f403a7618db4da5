// The control plane's log: one line per event on a stream (stderr in the
// process, a string stream in tests), each with a UTC timestamp, a level and
// a subsystem.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string_view>

namespace l2tpgw::cp {

enum class LogLevel : std::uint8_t { debug, info, warning, error };

std::optional<LogLevel> parse_log_level(std::string_view s);

class Logger {
 public:
  explicit Logger(std::ostream& out, LogLevel min = LogLevel::info) : _out(out), _min(min) {}

  void set_level(LogLevel l) noexcept { _min = l; }
  bool enabled(LogLevel l) const noexcept { return l >= _min; }
  void write(LogLevel l, std::string_view subsystem, std::string_view text);

  void debug(std::string_view sub, std::string_view text) { write(LogLevel::debug, sub, text); }
  void info(std::string_view sub, std::string_view text) { write(LogLevel::info, sub, text); }
  void warning(std::string_view sub, std::string_view text) { write(LogLevel::warning, sub, text); }
  void error(std::string_view sub, std::string_view text) { write(LogLevel::error, sub, text); }

 private:
  std::ostream& _out;
  LogLevel _min;
};

}  // namespace l2tpgw::cp
