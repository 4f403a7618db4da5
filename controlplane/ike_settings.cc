#include "controlplane/ike_settings.h"

#include <libconfig.h++>

#include "dataplane/config/config.h"
#include "dataplane/config/settings.h"

namespace l2tpgw::cp {
namespace {

using config_detail::Reader;
using config_detail::Setting;

ike::SecretBytes read_psk(const Reader& r, const Setting& s) {
  const std::string v = r.as_string(s);
  // RFC 2409 §5.4 leaves the length open; a short key falls to an offline
  // dictionary attack on a single captured exchange.
  if (v.size() < 8) {
    r.fail(s, "pre-shared key shorter than 8 characters");
  }
  return ike::SecretBytes(v.begin(), v.end());
}

void read_peers(const Reader& r, const Setting& list, IkeSettings& out) {
  r.require_list(list);
  for (int i = 0; i < list.getLength(); ++i) {
    const Setting& g = list[i];
    r.require_group(g);
    r.check_keys(g, {"address", "id", "psk"});
    IkePeerKey k;
    if (const Setting* a = r.find(g, "address")) {
      const auto v = parse_ipv4(r.as_string(*a));
      if (!v) {
        r.fail(*a, "'" + r.as_string(*a) + "' is not an IPv4 address");
      }
      k.address = *v;
    }
    if (auto id = r.opt_string(g, "id")) {
      if (id->empty()) {
        r.fail(r.require(g, "id"), "id must not be empty");
      }
      k.id = *id;
    }
    if (!k.address.has_value() == k.id.empty()) {
      r.fail(g, "a peer key names exactly one of address or id");
    }
    k.psk = read_psk(r, r.require(g, "psk"));
    for (const auto& other : out.peers) {
      if ((k.address && other.address == k.address) || (!k.id.empty() && other.id == k.id)) {
        r.fail(g, "a second key for the same peer");
      }
    }
    out.peers.push_back(std::move(k));
  }
}

std::uint32_t u32(const Reader& r, const Setting& g, const char* key, std::uint32_t dflt,
                  std::int64_t min, std::int64_t max) {
  const auto v = r.opt_int(g, key, min, max);
  return v ? static_cast<std::uint32_t>(*v) : dflt;
}

std::chrono::milliseconds secs(const Reader& r, const Setting& g, const char* key,
                               std::chrono::milliseconds dflt, std::int64_t min, std::int64_t max) {
  const auto v = r.opt_int(g, key, min, max);
  return v ? std::chrono::milliseconds(*v * 1000) : dflt;
}

void read_ike(const Reader& r, const Setting& g, IkeSettings& out) {
  r.require_group(g);
  r.check_keys(g, {"psk", "peers", "local_id", "allow_md5", "allow_modp1024", "allow_tunnel",
                   "ike_lifetime", "sa_lifetime", "sa_lifetime_kb", "max_half_open",
                   "max_half_open_per_peer", "max_ike_sas_per_peer", "retransmit_interval",
                   "retransmits", "dpd_interval", "dpd_failures", "nat_keepalive"});
  if (const Setting* s = r.find(g, "psk")) {
    out.default_psk = read_psk(r, *s);
  }
  if (const Setting* s = r.find(g, "peers")) {
    read_peers(r, *s, out);
  }
  if (auto v = r.opt_string(g, "local_id")) {
    out.local_id = *v;
  }
  out.allow_md5 = r.opt_bool(g, "allow_md5").value_or(out.allow_md5);
  out.allow_modp1024 = r.opt_bool(g, "allow_modp1024").value_or(out.allow_modp1024);
  out.allow_tunnel = r.opt_bool(g, "allow_tunnel").value_or(out.allow_tunnel);
  // Lifetimes: at least 2 minutes so rekeying cannot become a flood, at
  // most a day (RFC 4109 §3 asks implementations to support 86400 s).
  out.ike_lifetime_s = u32(r, g, "ike_lifetime", out.ike_lifetime_s, 120, 86400);
  out.sa_lifetime_s = u32(r, g, "sa_lifetime", out.sa_lifetime_s, 120, 86400);
  out.sa_lifetime_kb = u32(r, g, "sa_lifetime_kb", out.sa_lifetime_kb, 0, 0xffffffffLL);
  out.max_half_open = u32(r, g, "max_half_open", out.max_half_open, 1, 1'000'000);
  out.max_half_open_per_peer =
      u32(r, g, "max_half_open_per_peer", out.max_half_open_per_peer, 1, 65535);
  out.max_ike_sas_per_peer = u32(r, g, "max_ike_sas_per_peer", out.max_ike_sas_per_peer, 1, 65535);
  out.retransmit_interval = secs(r, g, "retransmit_interval", out.retransmit_interval, 1, 60);
  out.retransmits = u32(r, g, "retransmits", out.retransmits, 0, 20);
  out.dpd_interval = secs(r, g, "dpd_interval", out.dpd_interval, 0, 3600);
  out.dpd_failures = u32(r, g, "dpd_failures", out.dpd_failures, 1, 100);
  out.nat_keepalive = secs(r, g, "nat_keepalive", out.nat_keepalive, 0, 3600);
  if (out.max_half_open_per_peer > out.max_half_open) {
    const Setting* s = r.find(g, "max_half_open_per_peer");
    r.fail(s != nullptr ? *s : r.require(g, "max_half_open"),
           "max_half_open_per_peer exceeds max_half_open");
  }
  if (!out.default_psk && out.peers.empty()) {
    r.fail(g, "no pre-shared key: set psk or peers");
  }
}

}  // namespace

std::optional<ike::SecretBytes> IkeSettings::psk_for_address(std::uint32_t addr) const {
  for (const auto& p : peers) {
    if (p.address == addr) {
      return p.psk;
    }
  }
  return default_psk;
}

std::vector<const IkePeerKey*> IkeSettings::id_keys() const {
  std::vector<const IkePeerKey*> out;
  for (const auto& p : peers) {
    if (!p.id.empty()) {
      out.push_back(&p);
    }
  }
  return out;
}

IkeSettings load_ike_settings(const std::string& path) {
  libconfig::Config lc;
  config_detail::read_file(lc, path);
  const Reader r(path);
  IkeSettings out;
  try {
    if (const Setting* g = r.find(lc.getRoot(), "ike")) {
      read_ike(r, *g, out);
      out.enabled = true;
    }
  } catch (const libconfig::SettingException& e) {
    throw ConfigError(path + ": " + e.what() + " at " + e.getPath());
  }
  return out;
}

}  // namespace l2tpgw::cp
