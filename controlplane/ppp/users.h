// The local user database: a libconfig file
//
//   users = ( { name = "alice"; password = "secret";
//               address = "100.64.0.5";   # optional static inner address
//               mppe = "require"; } );    # optional: none | allow | require
//
// Every error names the file and line. Passwords stay in memory only for
// CHAP/MS-CHAPv2 (which need the cleartext or its NT hash) and are never
// printed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "controlplane/ppp/settings.h"

namespace l2tpgw::ppp {

struct User {
  std::string name;
  std::string password;
  std::optional<std::uint32_t> address;  // host order
  std::optional<MppePolicy> mppe;
  int line = 0;
};

class UserDb {
 public:
  // False when a user of that name exists already.
  bool add(User u);
  const User* find(std::string_view name) const;
  std::size_t size() const noexcept { return _users.size(); }

 private:
  std::unordered_map<std::string, User> _users;
};

struct UsersLoad {
  std::optional<UserDb> db;
  std::string error;  // "file:line: what", when db is empty
};

UsersLoad load_users(const std::string& path);
// The same from text; `origin` stands for the file name in errors.
UsersLoad parse_users(const std::string& text, std::string_view origin);

}  // namespace l2tpgw::ppp
