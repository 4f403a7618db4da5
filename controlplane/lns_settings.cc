#include "controlplane/lns_settings.h"

#include <libconfig.h++>

#include <filesystem>

#include "dataplane/config/config.h"
#include "dataplane/config/settings.h"

namespace l2tpgw::cp {
namespace {

using config_detail::Reader;
using config_detail::Setting;

std::uint32_t read_address(const Reader& r, const Setting& s) {
  const auto a = parse_ipv4(r.as_string(s));
  if (!a) {
    r.fail(s, "'" + r.as_string(s) + "' is not an IPv4 address");
  }
  return *a;
}

std::chrono::milliseconds seconds(const Reader& r, const Setting& g, const char* key,
                                  std::chrono::milliseconds dflt, std::int64_t min) {
  const auto v = r.opt_int(g, key, min, 86400);
  return v ? std::chrono::milliseconds(*v * 1000) : dflt;
}

template <typename T>
void opt_limit(const Reader& r, const Setting& g, const char* key, T& field, std::int64_t max) {
  if (const auto v = r.opt_int(g, key, 1, max)) {
    field = static_cast<T>(*v);
  }
}

void read_l2tp(const Reader& r, const Setting& g, l2tp::LnsConfig& c) {
  r.require_group(g);
  r.check_keys(g, {"host_name", "secret", "plain_from", "hello_interval", "retransmits",
                   "max_tunnels", "max_tunnels_per_peer", "max_sessions",
                   "max_sessions_per_tunnel"});
  if (auto v = r.opt_string(g, "host_name")) {
    if (v->empty()) {
      r.fail(r.require(g, "host_name"), "host_name must not be empty (RFC 2661 §4.4.3)");
    }
    c.host_name = *v;
  }
  if (auto v = r.opt_string(g, "secret")) {
    if (v->empty()) {
      r.fail(r.require(g, "secret"), "secret must not be empty; leave it out for none");
    }
    c.secret.assign(v->begin(), v->end());
  }
  if (const Setting* list = r.find(g, "plain_from")) {
    r.require_list(*list);
    for (int i = 0; i < list->getLength(); ++i) {
      const auto p = parse_prefix(r.as_string((*list)[i]));
      if (!p) {
        r.fail((*list)[i], "'" + r.as_string((*list)[i]) + "' is not an IPv4 prefix");
      }
      c.plain_allowed.push_back({p->addr, p->len});
    }
  }
  c.hello_interval = seconds(r, g, "hello_interval", c.hello_interval, 1);
  if (const auto v = r.opt_int(g, "retransmits", 1, 20)) {
    c.reliable.max_retransmits = static_cast<unsigned>(*v);
  }
  opt_limit(r, g, "max_tunnels", c.limits.max_tunnels, 65535);
  opt_limit(r, g, "max_tunnels_per_peer", c.limits.max_tunnels_per_peer, 65535);
  opt_limit(r, g, "max_sessions", c.limits.max_sessions, 16777216);
  opt_limit(r, g, "max_sessions_per_tunnel", c.limits.max_sessions_per_tunnel, 65535);
}

ppp::AuthProto read_auth(const Reader& r, const Setting& s) {
  const std::string v = r.as_string(s);
  if (v == "mschapv2") {
    return ppp::AuthProto::mschapv2;
  }
  if (v == "chap") {
    return ppp::AuthProto::chap_md5;
  }
  if (v == "pap") {
    return ppp::AuthProto::pap;
  }
  r.fail(s, "unknown authentication protocol '" + v + "' (mschapv2, chap or pap)");
}

std::uint8_t read_mppe_bits(const Reader& r, const Setting& list) {
  r.require_list(list);
  std::uint8_t allowed = 0;
  for (int i = 0; i < list.getLength(); ++i) {
    switch (r.as_int(list[i], 0, 1024)) {
      case 40: allowed |= ppp::mppe_allow_40; break;
      case 56: allowed |= ppp::mppe_allow_56; break;
      case 128: allowed |= ppp::mppe_allow_128; break;
      default: r.fail(list[i], "MPPE keys are 40, 56 or 128 bits (RFC 3078 §2.1)");
    }
  }
  if (allowed == 0) {
    r.fail(list, "mppe_bits is empty; set mppe = \"none\" instead");
  }
  return allowed;
}

// Two addresses: "first-last", both ends included.
void read_pool(const Reader& r, const Setting& s, LnsSettings& out) {
  const std::string v = r.as_string(s);
  const auto dash = v.find('-');
  auto trim = [](std::string t) {
    t.erase(0, t.find_first_not_of(' '));
    t.erase(t.find_last_not_of(' ') + 1);
    return t;
  };
  const auto first = dash == std::string::npos ? std::nullopt : parse_ipv4(trim(v.substr(0, dash)));
  const auto last = dash == std::string::npos ? std::nullopt : parse_ipv4(trim(v.substr(dash + 1)));
  if (!first || !last || *last < *first) {
    r.fail(s, "pool '" + v + "' is not 'first-last' with first <= last");
  }
  out.pool_first = *first;
  out.pool_last = *last;
}

void read_servers(const Reader& r, const Setting& g, const char* key, std::uint32_t& primary,
                  std::uint32_t& secondary) {
  const Setting* list = r.find(g, key);
  if (list == nullptr) {
    return;
  }
  r.require_list(*list);
  if (list->getLength() > 2) {
    r.fail(*list, std::string(key) + " takes a primary and a secondary at most (RFC 1877)");
  }
  if (list->getLength() > 0) {
    primary = read_address(r, (*list)[0]);
  }
  if (list->getLength() > 1) {
    secondary = read_address(r, (*list)[1]);
  }
}

void read_ppp(const Reader& r, const Setting& g, LnsSettings& out) {
  r.require_group(g);
  r.check_keys(g, {"auth", "server_name", "mru", "echo_interval", "echo_failures",
                   "local_address", "pool", "dns", "nbns", "mppe", "mppe_bits",
                   "mppe_stateless", "users"});
  ppp::PppSettings& c = out.ppp;
  if (const Setting* list = r.find(g, "auth")) {
    r.require_list(*list);
    c.auth.clear();
    for (int i = 0; i < list->getLength(); ++i) {
      c.auth.push_back(read_auth(r, (*list)[i]));
    }
    if (c.auth.empty()) {
      r.fail(*list, "auth lists no protocol: nobody could authenticate");
    }
  }
  if (auto v = r.opt_string(g, "server_name")) {
    c.server_name = *v;
  }
  if (auto v = r.opt_int(g, "mru", c.min_mru, 65535)) {
    c.mru = static_cast<std::uint16_t>(*v);
  }
  c.echo_interval = seconds(r, g, "echo_interval", c.echo_interval, 0);
  if (auto v = r.opt_int(g, "echo_failures", 1, 100)) {
    c.echo_max_missed = static_cast<unsigned>(*v);
  }
  if (const Setting* s = r.find(g, "local_address")) {
    c.local_address = read_address(r, *s);
  }
  if (const Setting* s = r.find(g, "pool")) {
    read_pool(r, *s, out);
  }
  read_servers(r, g, "dns", c.dns_primary, c.dns_secondary);
  read_servers(r, g, "nbns", c.nbns_primary, c.nbns_secondary);
  if (const Setting* s = r.find(g, "mppe")) {
    const auto p = ppp::parse_mppe_policy(r.as_string(*s));
    if (!p) {
      r.fail(*s, "mppe is none, allow or require");
    }
    c.mppe = *p;
  }
  if (const Setting* s = r.find(g, "mppe_bits")) {
    c.mppe_allowed = read_mppe_bits(r, *s);
  }
  if (auto v = r.opt_bool(g, "mppe_stateless")) {
    c.mppe_prefer_stateless = *v;
  }
  if (auto v = r.opt_string(g, "users")) {
    const std::filesystem::path p(*v);
    out.users_file = p.is_absolute()
                         ? p.string()
                         : (std::filesystem::path(r.file()).parent_path() / p).lexically_normal().string();
  }
}

}  // namespace

LnsSettings load_lns_settings(const std::string& path) {
  libconfig::Config lc;
  config_detail::read_file(lc, path);
  const Reader r(path);
  LnsSettings out;
  out.pool_first = 1;  // empty until configured
  const Setting& root = lc.getRoot();
  try {
    if (const Setting* g = r.find(root, "l2tp")) {
      read_l2tp(r, *g, out.l2tp);
      out.enabled = true;
    }
    if (const Setting* g = r.find(root, "ppp")) {
      read_ppp(r, *g, out);
    }
  } catch (const libconfig::SettingException& e) {
    throw ConfigError(path + ": " + e.what() + " at " + e.getPath());
  }
  return out;
}

}  // namespace l2tpgw::cp
