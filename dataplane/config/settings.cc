#include "dataplane/config/settings.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

#include "dataplane/config/config.h"

namespace l2tpgw::config_detail {

void read_file(libconfig::Config& lc, const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    throw ConfigError(path + ": cannot read the configuration: " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    throw ConfigError(path + ": the configuration is not a regular file");
  }
  try {
    lc.readFile(path.c_str());
  } catch (const libconfig::FileIOException&) {
    throw ConfigError(path + ": cannot read the configuration");
  } catch (const libconfig::ParseException& e) {
    const std::string file = e.getFile() != nullptr ? e.getFile() : path;
    throw ConfigError(file + ":" + std::to_string(e.getLine()) + ": " + e.getError());
  }
}

std::string Reader::where(const Setting& s) const {
  const char* f = s.getSourceFile();
  const std::string file = f != nullptr ? std::string(f) : _file;
  const unsigned line = s.getSourceLine();
  return line == 0 ? file : file + ":" + std::to_string(line);
}

void Reader::fail(const Setting& s, const std::string& what) const {
  throw ConfigError(where(s) + ": " + what);
}

void Reader::check_keys(const Setting& group,
                        std::initializer_list<std::string_view> allowed) const {
  for (const Setting& child : group) {
    const std::string_view name = child.getName() != nullptr ? child.getName() : "";
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      std::string known;
      for (auto k : allowed) {
        known += known.empty() ? "" : ", ";
        known += k;
      }
      fail(child, "unknown setting '" + std::string(name) + "' (expected one of: " + known + ")");
    }
  }
}

void Reader::require_group(const Setting& s) const {
  if (!s.isGroup()) {
    fail(s, std::string("'") + (s.getName() ? s.getName() : "entry") +
                "' must be a group { ... }");
  }
}

void Reader::require_list(const Setting& s) const {
  if (!s.isList() && !s.isArray()) {
    fail(s, std::string("'") + (s.getName() ? s.getName() : "entry") +
                "' must be a list ( ... ) or an array [ ... ]");
  }
}

const Setting* Reader::find(const Setting& group, const char* key) const {
  return group.exists(key) ? &group[key] : nullptr;
}

const Setting& Reader::require(const Setting& group, const char* key) const {
  if (!group.exists(key)) {
    fail(group, std::string("missing required setting '") + key + "'");
  }
  return group[key];
}

std::string Reader::as_string(const Setting& s) const {
  if (s.getType() != Setting::TypeString) {
    fail(s, std::string("'") + (s.getName() ? s.getName() : "value") + "' must be a string");
  }
  return static_cast<const char*>(s);
}

std::int64_t Reader::as_int(const Setting& s, std::int64_t min, std::int64_t max) const {
  std::int64_t v = 0;
  if (s.getType() == Setting::TypeInt) {
    v = static_cast<int>(s);
  } else if (s.getType() == Setting::TypeInt64) {
    v = static_cast<long long>(s);
  } else {
    fail(s, std::string("'") + (s.getName() ? s.getName() : "value") + "' must be an integer");
  }
  if (v < min || v > max) {
    fail(s, std::string("'") + (s.getName() ? s.getName() : "value") + "' is " +
                std::to_string(v) + ", must be in " + std::to_string(min) + ".." +
                std::to_string(max));
  }
  return v;
}

std::uint32_t Reader::as_u32(const Setting& s) const {
  if (s.getType() == Setting::TypeInt && s.getFormat() == Setting::FormatHex) {
    return static_cast<std::uint32_t>(static_cast<int>(s));
  }
  return static_cast<std::uint32_t>(as_int(s, 0, std::numeric_limits<std::uint32_t>::max()));
}

bool Reader::as_bool(const Setting& s) const {
  if (s.getType() != Setting::TypeBoolean) {
    fail(s, std::string("'") + (s.getName() ? s.getName() : "value") +
                "' must be true or false");
  }
  return static_cast<bool>(s);
}

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

}  // namespace

void Reader::as_hex_key(const Setting& s, std::span<std::uint8_t> out,
                        std::string_view alg) const {
  std::string text = as_string(s);
  if (text.starts_with("0x") || text.starts_with("0X")) {
    text.erase(0, 2);
  }
  const std::string key = s.getName() != nullptr ? s.getName() : "key";
  const std::size_t want = out.size();
  if (text.size() % 2 != 0) {
    fail(s, "'" + key + "' has an odd number of hex digits");
  }
  if (text.size() / 2 != want) {
    fail(s, "'" + key + "' is " + std::to_string(text.size() / 2) + " bytes, " + std::string(alg) +
                " takes " + std::to_string(want) + " bytes (" + std::to_string(want * 2) +
                " hex digits)");
  }
  for (std::size_t i = 0; i < want; ++i) {
    const int hi = hex_value(text[2 * i]);
    const int lo = hex_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      fail(s, "'" + key + "' contains a character that is not a hex digit");
    }
    out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
}

std::optional<bool> Reader::opt_bool(const Setting& group, const char* key) const {
  const Setting* s = find(group, key);
  return s != nullptr ? std::optional(as_bool(*s)) : std::nullopt;
}

std::optional<std::string> Reader::opt_string(const Setting& group, const char* key) const {
  const Setting* s = find(group, key);
  return s != nullptr ? std::optional(as_string(*s)) : std::nullopt;
}

std::optional<std::int64_t> Reader::opt_int(const Setting& group, const char* key,
                                            std::int64_t min, std::int64_t max) const {
  const Setting* s = find(group, key);
  return s != nullptr ? std::optional(as_int(*s, min, max)) : std::nullopt;
}

}  // namespace l2tpgw::config_detail
