#include "dataplane/config/settings.h"

#include <algorithm>
#include <limits>

#include "dataplane/config/config.h"

namespace l2tpgw::config_detail {

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
