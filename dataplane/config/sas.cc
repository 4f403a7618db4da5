// The sas ( ) section: static ESP SAs, installed by the control plane at
// start (for benchmarks and tests without IKE).
#include <cstdio>
#include <limits>
#include <map>
#include <tuple>

#include "dataplane/config/sections.h"

namespace l2tpgw::config_detail {
namespace {

using channel::Direction;
using channel::Encap;
using channel::SaParams;

// RFC 4303 §2.1: SPI values 1..255 are reserved by IANA, 0 is local use only.
constexpr std::uint32_t min_spi = 256;

std::string spi_text(std::uint32_t spi) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", spi);
  return buf;
}

Direction read_direction(const Reader& r, const Setting& s) {
  const std::string d = r.as_string(s);
  if (d != "in" && d != "out") {
    r.fail(s, "'direction' is '" + d + "', must be \"in\" or \"out\"");
  }
  return d == "in" ? Direction::in : Direction::out;
}

std::uint32_t read_spi(const Reader& r, const Setting& s) {
  const std::uint32_t spi = r.as_u32(s);
  if (spi == 0) {
    r.fail(s, "'spi' must not be 0 (RFC 4303 §2.1: reserved for local use)");
  }
  if (spi < min_spi) {
    r.fail(s, "'spi' " + std::to_string(spi) + " is in 1..255, reserved by IANA (RFC 4303 §2.1)");
  }
  return spi;
}

void read_encap(const Reader& r, const Setting& s, SaParams& p) {
  const Setting* e = r.find(s, "encap");
  const std::string encap = e != nullptr ? r.as_string(*e) : "none";
  if (encap != "none" && encap != "udp") {
    r.fail(*e, "'encap' is '" + encap + "', must be \"none\" or \"udp\"");
  }
  p.encap = encap == "udp" ? Encap::udp : Encap::none;
  for (const char* key : {"peer_port", "local_port"}) {
    if (p.encap == Encap::none && s.exists(key)) {
      r.fail(s[key], std::string("'") + key + "' applies only with encap = \"udp\"");
    }
  }
  if (p.encap == Encap::udp) {
    // RFC 3948 §2: UDP-encapsulated ESP uses port 4500 unless a NAT moved it.
    p.peer_port = static_cast<std::uint16_t>(r.opt_int(s, "peer_port", 1, 65535).value_or(4500));
    p.local_port = static_cast<std::uint16_t>(r.opt_int(s, "local_port", 1, 65535).value_or(4500));
  }
}

void read_transform(const Reader& r, const Setting& s, SaParams& p) {
  const Setting& cs = r.require(s, "cipher");
  const auto cipher = parse_cipher(r.as_string(cs));
  if (!cipher) {
    r.fail(cs, "unknown cipher '" + r.as_string(cs) +
                   "' (aes-cbc-128, aes-cbc-256, aes-gcm-128, aes-gcm-256, 3des-cbc)");
  }
  const Setting* as = r.find(s, "integrity");
  const auto auth = as != nullptr ? parse_auth(r.as_string(*as)) : EspAuth::none;
  if (!auth) {
    r.fail(*as, "unknown integrity '" + r.as_string(*as) +
                    "' (hmac-sha1-96, hmac-sha256-128, none)");
  }
  if (!valid_pair(*cipher, *auth)) {
    r.fail(as != nullptr ? *as : s,
           info(*cipher).aead ? std::string(info(*cipher).name) + " carries its own ICV: integrity must be \"none\""
                              : std::string(info(*cipher).name) +
                                    " needs an integrity algorithm (RFC 4303 §3.2)");
  }
  p.cipher = *cipher;
  p.auth = *auth;
}

void read_keys(const Reader& r, const Setting& s, SaParams& p) {
  const auto ci = info(p.cipher);
  const auto ai = info(p.auth);
  r.as_hex_key(r.require(s, "cipher_key"), {p.cipher_key, ci.key_len}, ci.name);
  p.cipher_key_len = ci.key_len;
  const Setting* k = r.find(s, "integrity_key");
  if (p.auth == EspAuth::none && k != nullptr) {
    r.fail(*k, "'integrity_key' given but integrity is none");
  }
  if (p.auth != EspAuth::none) {
    r.as_hex_key(r.require(s, "integrity_key"), {p.auth_key, ai.key_len}, ai.name);
  }
  p.auth_key_len = ai.key_len;
}

channel::Prefix read_net(const Reader& r, const Setting& s, const char* key) {
  const Setting& n = r.require(s, key);
  const auto p = parse_prefix(r.as_string(n));
  if (!p) {
    r.fail(n, std::string("'") + key + "' is not an IPv4 prefix (a.b.c.d/len): '" + r.as_string(n) + "'");
  }
  if (!wire::is_network(p->addr, p->len)) {
    r.fail(n, std::string("'") + key + "' " + r.as_string(n) + " has bits set beyond its length");
  }
  return {p->addr, p->len, {}};
}

// RFC 4301 §4.1: transport (the default, as L2TP/IPsec uses it) or tunnel
// between the peer's network (peer_net) and ours (local_net).
void read_mode(const Reader& r, const Setting& s, SaParams& p) {
  const Setting* m = r.find(s, "mode");
  const std::string mode = m != nullptr ? r.as_string(*m) : "transport";
  if (mode != "transport" && mode != "tunnel") {
    r.fail(*m, "'mode' is '" + mode + "', must be \"transport\" or \"tunnel\"");
  }
  if (mode == "transport") {
    for (const char* key : {"peer_net", "local_net"}) {
      if (s.exists(key)) {
        r.fail(s[key], std::string("'") + key + "' applies only with mode = \"tunnel\"");
      }
    }
    return;
  }
  p.mode = channel::Mode::tunnel;
  p.peer_net = read_net(r, s, "peer_net");
  p.local_net = read_net(r, s, "local_net");
}

std::uint64_t read_count(const Reader& r, const Setting& s, const char* key) {
  return static_cast<std::uint64_t>(
      r.opt_int(s, key, 0, std::numeric_limits<std::int64_t>::max()).value_or(0));
}

void check_soft_hard(const Reader& r, const Setting& s, std::uint64_t soft, std::uint64_t hard,
                     const char* what) {
  if (soft != 0 && hard != 0 && soft > hard) {
    r.fail(s, std::string("soft_") + what + " " + std::to_string(soft) + " exceeds hard_" + what +
                  " " + std::to_string(hard));
  }
}

channel::Lifetime read_lifetime(const Reader& r, const Setting& s) {
  r.require_group(s);
  r.check_keys(s, {"soft_bytes", "hard_bytes", "soft_packets", "hard_packets"});
  channel::Lifetime l{};
  l.soft_bytes = read_count(r, s, "soft_bytes");
  l.hard_bytes = read_count(r, s, "hard_bytes");
  l.soft_packets = read_count(r, s, "soft_packets");
  l.hard_packets = read_count(r, s, "hard_packets");
  check_soft_hard(r, s, l.soft_bytes, l.hard_bytes, "bytes");
  check_soft_hard(r, s, l.soft_packets, l.hard_packets, "packets");
  return l;
}

SaConfig read_sa(const Reader& r, const Setting& s, const Config& cfg) {
  r.require_group(s);
  r.check_keys(s, {"direction", "spi", "peer", "encap", "peer_port", "local_port", "cipher",
                   "cipher_key", "integrity", "integrity_key", "replay_window", "lifetime", "mode",
                   "peer_net", "local_net"});
  SaConfig sa;
  sa.line = static_cast<int>(s.getSourceLine());
  SaParams& p = sa.params;
  p.dir = read_direction(r, r.require(s, "direction"));
  p.spi = read_spi(r, r.require(s, "spi"));
  const Setting& peer = r.require(s, "peer");
  const auto addr = parse_ipv4(r.as_string(peer));
  if (!addr || *addr == 0) {
    r.fail(peer, "'peer' is not an IPv4 address: '" + r.as_string(peer) + "'");
  }
  p.peer_addr = *addr;
  p.local_addr = cfg.port(PortRole::outside)->address.addr;
  read_encap(r, s, p);
  read_mode(r, s, p);
  read_transform(r, s, p);
  read_keys(r, s, p);
  const Setting* w = r.find(s, "replay_window");
  p.replay_window = cfg.dataplane.replay_window;
  if (w != nullptr) {
    // 0 switches anti-replay off for this static SA: RFC 4303 §3.4.3 lets a
    // receiver do so for manually keyed SAs. It exists for benchmarks that
    // replay one capture in a loop; the control plane warns about it.
    p.replay_window = r.as_int(*w, 0, 4096) == 0 ? 0 : read_replay_window_setting(r, *w);
  }
  if (const Setting* l = r.find(s, "lifetime")) {
    p.lifetime = read_lifetime(r, *l);
  }
  return sa;
}

}  // namespace

std::vector<SaConfig> read_sas(const Reader& r, const Setting& list, const Config& cfg) {
  r.require_list(list);
  if (static_cast<std::size_t>(list.getLength()) > cfg.dataplane.max_sas) {
    r.fail(list, "more SAs than dataplane.max_sas (" + std::to_string(cfg.dataplane.max_sas) + ")");
  }
  std::vector<SaConfig> sas;
  std::map<std::tuple<Direction, std::uint32_t, std::uint32_t>, int> seen;
  for (const Setting& s : list) {
    SaConfig sa = read_sa(r, s, cfg);
    const auto [it, fresh] = seen.emplace(std::tuple(sa.params.dir, sa.params.spi, sa.params.peer_addr), sa.line);
    if (!fresh) {
      r.fail(s, std::string("SA ") + (sa.params.dir == Direction::in ? "in" : "out") + " spi " +
                    spi_text(sa.params.spi) + " peer " + format_ipv4(sa.params.peer_addr) +
                    " is already defined at line " + std::to_string(it->second));
    }
    sas.push_back(sa);
  }
  return sas;
}

}  // namespace l2tpgw::config_detail
