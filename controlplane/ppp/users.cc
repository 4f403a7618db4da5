#include "controlplane/ppp/users.h"

#include <arpa/inet.h>

#include <fstream>
#include <libconfig.h++>
#include <sstream>

namespace l2tpgw::ppp {
namespace {

std::string where(std::string_view origin, int line) {
  return std::string(origin) + ":" + std::to_string(line) + ": ";
}

std::optional<std::uint32_t> parse_ipv4(const std::string& s) {
  in_addr a{};
  if (inet_pton(AF_INET, s.c_str(), &a) != 1) {
    return std::nullopt;
  }
  return ntohl(a.s_addr);
}

UsersLoad from_config(const libconfig::Config& cfg, std::string_view origin) {
  UsersLoad r;
  const libconfig::Setting& root = cfg.getRoot();
  if (!root.exists("users")) {
    r.error = std::string(origin) + ": no 'users' list";
    return r;
  }
  const libconfig::Setting& users = root["users"];
  if (!users.isList() && !users.isArray()) {
    r.error = where(origin, users.getSourceLine()) + "'users' must be a list ( { ... }, ... )";
    return r;
  }
  UserDb db;
  for (int i = 0; i < users.getLength(); ++i) {
    const libconfig::Setting& u = users[i];
    const int line = u.getSourceLine();
    if (!u.isGroup()) {
      r.error = where(origin, line) + "each user must be a group { name = ...; password = ...; }";
      return r;
    }
    for (int j = 0; j < u.getLength(); ++j) {
      const std::string key = u[j].getName();
      if (key != "name" && key != "password" && key != "address" && key != "mppe") {
        r.error = where(origin, u[j].getSourceLine()) + "unknown user setting '" + key + "'";
        return r;
      }
    }
    User user;
    user.line = line;
    if (!u.lookupValue("name", user.name) || user.name.empty()) {
      r.error = where(origin, line) + "user without a non-empty string 'name'";
      return r;
    }
    if (!u.lookupValue("password", user.password) || user.password.empty()) {
      r.error = where(origin, line) + "user " + user.name + ": no non-empty string 'password'";
      return r;
    }
    std::string s;
    if (u.exists("address")) {
      const int aline = u["address"].getSourceLine();
      if (!u.lookupValue("address", s)) {
        r.error = where(origin, aline) + "user " + user.name + ": 'address' must be a string";
        return r;
      }
      user.address = parse_ipv4(s);
      if (!user.address || *user.address == 0) {
        r.error = where(origin, aline) + "user " + user.name + ": bad IPv4 address '" + s + "'";
        return r;
      }
    }
    if (u.exists("mppe")) {
      const int mline = u["mppe"].getSourceLine();
      if (!u.lookupValue("mppe", s) || !(user.mppe = parse_mppe_policy(s))) {
        r.error = where(origin, mline) + "user " + user.name +
                  ": 'mppe' must be \"none\", \"allow\" or \"require\"";
        return r;
      }
    }
    const std::string name = user.name;
    if (!db.add(std::move(user))) {
      r.error = where(origin, line) + "user " + name + " listed twice";
      return r;
    }
  }
  r.db = std::move(db);
  return r;
}

}  // namespace

bool UserDb::add(User u) {
  std::string key = u.name;
  return _users.emplace(std::move(key), std::move(u)).second;
}

const User* UserDb::find(std::string_view name) const {
  const auto it = _users.find(std::string(name));
  return it == _users.end() ? nullptr : &it->second;
}

UsersLoad parse_users(const std::string& text, std::string_view origin) {
  libconfig::Config cfg;
  try {
    cfg.readString(text);
  } catch (const libconfig::ParseException& e) {
    UsersLoad r;
    r.error = where(origin, e.getLine()) + e.getError();
    return r;
  }
  return from_config(cfg, origin);
}

UsersLoad load_users(const std::string& path) {
  std::ifstream f(path);
  if (!f) {
    UsersLoad r;
    r.error = path + ": cannot open";
    return r;
  }
  std::stringstream ss;
  ss << f.rdbuf();
  return parse_users(ss.str(), path);
}

}  // namespace l2tpgw::ppp
