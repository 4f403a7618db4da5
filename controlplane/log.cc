#include "controlplane/log.h"

#include <time.h>

#include <cstdio>

namespace l2tpgw::cp {
namespace {

std::string_view level_name(LogLevel l) {
  switch (l) {
    case LogLevel::debug: return "debug";
    case LogLevel::info: return "info";
    case LogLevel::warning: return "warn";
    case LogLevel::error: return "error";
  }
  return "?";
}

// 2026-11-25T15:00:00.123Z
void format_now(char (&buf)[64]) {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t{};
  gmtime_r(&ts.tv_sec, &t);
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", t.tm_year + 1900,
                t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, ts.tv_nsec / 1'000'000);
}

}  // namespace

std::optional<LogLevel> parse_log_level(std::string_view s) {
  for (auto l : {LogLevel::debug, LogLevel::info, LogLevel::warning, LogLevel::error}) {
    if (s == level_name(l) || (l == LogLevel::warning && s == "warning")) {
      return l;
    }
  }
  return std::nullopt;
}

void Logger::write(LogLevel l, std::string_view subsystem, std::string_view text) {
  if (!enabled(l)) {
    return;
  }
  char ts[64];
  format_now(ts);
  char level[8];
  std::snprintf(level, sizeof level, "%-5.*s", static_cast<int>(level_name(l).size()),
                level_name(l).data());
  _out << ts << ' ' << level << ' ' << subsystem << ": " << text << '\n';
  _out.flush();
}

}  // namespace l2tpgw::cp
