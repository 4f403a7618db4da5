// The sessions ( ) section: static L2TP sessions with their PPP link, for
// benchmarks and traffic generators without any L2TP or PPP negotiation.
// Each rides on two static SAs of the sas ( ) section.
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <unordered_map>
#include <utility>

#include "dataplane/config/sections.h"

namespace l2tpgw::config_detail {
namespace {

using channel::Direction;
using channel::SessionParams;

// RFC 2661 §1.3/§3.1: the well-known L2TP port, the default on both sides.
constexpr std::int64_t l2tp_port = 1701;

std::string spi_text(std::uint32_t spi) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", spi);
  return buf;
}

std::string session_text(std::uint16_t tunnel, std::uint16_t session) {
  return "tunnel " + std::to_string(tunnel) + " session " + std::to_string(session);
}

// RFC 2661 §3.1: tunnel id 0 and session id 0 are for control of the tunnel
// itself (a tunnel not yet assigned an id, messages of no session), so no
// data session may use them.
std::uint16_t read_id(const Reader& r, const Setting& group, const char* key) {
  const Setting& s = r.require(group, key);
  if (r.as_int(s, std::numeric_limits<std::int64_t>::min(),
               std::numeric_limits<std::int64_t>::max()) == 0) {
    r.fail(s, std::string("'") + key +
                  "' must not be 0 (RFC 2661 §3.1: id 0 is for control of the tunnel)");
  }
  return static_cast<std::uint16_t>(r.as_int(s, 1, 65535));
}

std::uint32_t read_peer(const Reader& r, const Setting& s) {
  const auto a = parse_ipv4(r.as_string(s));
  if (!a || *a == 0) {
    r.fail(s, "'peer' is not an IPv4 address: '" + r.as_string(s) + "'");
  }
  return *a;
}

// The inner address is the destination the inside path looks the session
// up by, and the only source accepted from the client: it must name one
// unicast host.
std::uint32_t read_inner_addr(const Reader& r, const Setting& s, const Config& cfg) {
  const auto a = parse_ipv4(r.as_string(s));
  if (!a) {
    r.fail(s, "'address' is not an IPv4 address: '" + r.as_string(s) + "'");
  }
  const std::uint32_t first = *a >> 24;
  if (first == 0 || first == 127 || first >= 224) {
    r.fail(s, "'address' " + format_ipv4(*a) +
                  " is not a unicast host address (0/8, 127/8 and 224/3 are excluded)");
  }
  for (const auto& p : cfg.ports) {
    if (p.address.addr == *a) {
      r.fail(s, "'address' " + format_ipv4(*a) + " is the address of port '" + p.name + "' (line " +
                    std::to_string(p.line) + ")");
    }
  }
  return *a;
}

// The data plane checks that a session's traffic arrives in sa_in and sends
// through the outbound SA of (sa_out, peer): both must exist for this peer.
// The SAs by direction and SPI, built once: a million sessions must not
// each walk the SA list.
using SaIndex = std::unordered_multimap<std::uint64_t, const SaConfig*>;

std::uint64_t sa_key(Direction dir, std::uint32_t spi) noexcept {
  return std::uint64_t{static_cast<std::uint8_t>(dir)} << 32 | spi;
}

SaIndex index_sas(const Config& cfg) {
  SaIndex index;
  index.reserve(cfg.sas.size());
  for (const auto& sa : cfg.sas) {
    index.emplace(sa_key(sa.params.dir, sa.params.spi), &sa);
  }
  return index;
}

std::uint32_t read_sa_ref(const Reader& r, const Setting& s, const SaIndex& sas, Direction dir,
                          std::uint32_t peer) {
  const std::uint32_t spi = r.as_u32(s);
  const char* dir_name = dir == Direction::in ? "inbound" : "outbound";
  const SaConfig* other_peer = nullptr;
  const auto [first, last] = sas.equal_range(sa_key(dir, spi));
  for (auto it = first; it != last; ++it) {
    if (it->second->params.peer_addr == peer) {
      return spi;
    }
    other_peer = it->second;
  }
  const std::string key = s.getName();
  if (other_peer != nullptr) {
    r.fail(s, "'" + key + "' " + spi_text(spi) + " is the " + dir_name + " SA of peer " +
                  format_ipv4(other_peer->params.peer_addr) + " (line " +
                  std::to_string(other_peer->line) + "), not of this session's peer " +
                  format_ipv4(peer));
  }
  r.fail(s, "'" + key + "' " + spi_text(spi) + " names no " + dir_name + " SA of peer " +
                format_ipv4(peer) + " in 'sas'");
}

// The MPPE of a session as CCP would have negotiated it (RFC 3078 §2.1):
// strength, mode and the two start keys of RFC 3079 §3.3 as the server sees
// them, which is also what RADIUS hands over as MS-MPPE-Send-Key and
// MS-MPPE-Recv-Key. 40- and 56-bit sessions take the same 16-byte start keys
// and use their first 8 bytes (RFC 3079 §3.1, §3.2).
void read_mppe(const Reader& r, const Setting& m, SessionParams& p) {
  r.require_group(m);
  r.check_keys(m, {"bits", "stateless", "send_key", "recv_key"});
  const Setting& bits = r.require(m, "bits");
  const std::int64_t b = r.as_int(bits, std::numeric_limits<std::int64_t>::min(),
                                  std::numeric_limits<std::int64_t>::max());
  if (b != 40 && b != 56 && b != 128) {
    r.fail(bits, "'bits' is " + std::to_string(b) + ", must be 40, 56 or 128 (RFC 3078 §2.1)");
  }
  p.mppe_bits = static_cast<std::uint8_t>(b);
  // Stateless ("history-less", RFC 3078 §7.1) unless told otherwise: what
  // Windows, macOS and pppd ask for, and a lost packet costs nothing.
  p.mppe_stateless = r.opt_bool(m, "stateless").value_or(true) ? 1 : 0;
  constexpr std::string_view what = "an MPPE start key (RFC 3079 §3.3)";
  r.as_hex_key(r.require(m, "send_key"), p.mppe_send_key, what);
  r.as_hex_key(r.require(m, "recv_key"), p.mppe_recv_key, what);
}

// IPv6 for the session: the /64 the client was given and, optionally, the
// interface identifier IPV6CP agreed for it (RFC 5072 §4.1); without one
// the low 64 bits of the prefix's address are taken, "::1" when those are 0.
void read_ipv6(const Reader& r, const Setting& s, SessionParams& p) {
  const Setting* pre = r.find(s, "ipv6_prefix");
  const Setting* ifid = r.find(s, "ipv6_interface_id");
  if (pre == nullptr) {
    if (ifid != nullptr) {
      r.fail(*ifid, "'ipv6_interface_id' needs 'ipv6_prefix'");
    }
    return;
  }
  const auto v = parse_prefix6(r.as_string(*pre));
  if (!v || v->len != 64 || wire::is_multicast(v->addr) || wire::is_link_local(v->addr) ||
      wire::prefix64(v->addr.data()) == 0) {
    r.fail(*pre, "'ipv6_prefix' must be a global unicast /64 like 2001:db8:1:2::/64: '" + r.as_string(*pre) +
                     "'");
  }
  p.ipv6 = 1;
  std::memcpy(p.ipv6_prefix, v->addr.data(), 8);
  wire::Ipv6Addr id = v->addr;
  if (ifid != nullptr) {
    const auto a = parse_ipv6(r.as_string(*ifid));
    if (!a || wire::prefix64(a->data()) != 0) {
      r.fail(*ifid, "'ipv6_interface_id' must be an interface identifier written as ::X:Y:Z:W: '" +
                        r.as_string(*ifid) + "'");
    }
    id = *a;
  }
  std::memcpy(p.ipv6_ifid, id.data() + 8, 8);
  if (wire::prefix64(p.ipv6_ifid) == 0) {
    // RFC 5072 §4.1: an identifier of zero is not valid.
    p.ipv6_ifid[7] = 1;
  }
}

SessionConfig read_session(const Reader& r, const Setting& s, const Config& cfg, const SaIndex& sas) {
  r.require_group(s);
  r.check_keys(s,
               {"tunnel_id", "session_id", "peer_tunnel_id", "peer_session_id", "peer", "peer_port",
                "local_port", "sa_in", "sa_out", "address", "acfc", "pfc", "sequencing", "mppe", "ipv6_prefix",
                "ipv6_interface_id"});
  SessionConfig sc;
  sc.line = static_cast<int>(s.getSourceLine());
  SessionParams& p = sc.params;
  p.local_tunnel_id = read_id(r, s, "tunnel_id");
  p.local_session_id = read_id(r, s, "session_id");
  p.peer_tunnel_id = read_id(r, s, "peer_tunnel_id");
  p.peer_session_id = read_id(r, s, "peer_session_id");
  p.peer_addr = read_peer(r, r.require(s, "peer"));
  // Clients behind a NAT (and macOS/iOS) send from another port than 1701.
  p.peer_port = static_cast<std::uint16_t>(r.opt_int(s, "peer_port", 1, 65535).value_or(l2tp_port));
  p.local_port =
      static_cast<std::uint16_t>(r.opt_int(s, "local_port", 1, 65535).value_or(l2tp_port));
  p.sa_in_spi = read_sa_ref(r, r.require(s, "sa_in"), sas, Direction::in, p.peer_addr);
  p.sa_out_spi = read_sa_ref(r, r.require(s, "sa_out"), sas, Direction::out, p.peer_addr);
  p.inner_addr = read_inner_addr(r, r.require(s, "address"), cfg);
  p.ppp_acfc = r.opt_bool(s, "acfc").value_or(false) ? 1 : 0;
  p.ppp_pfc = r.opt_bool(s, "pfc").value_or(false) ? 1 : 0;
  p.l2tp_sequencing = r.opt_bool(s, "sequencing").value_or(false) ? 1 : 0;
  if (const Setting* m = r.find(s, "mppe")) {
    read_mppe(r, *m, p);
  }
  read_ipv6(r, s, p);
  return sc;
}

}  // namespace

std::vector<SessionConfig> read_sessions(const Reader& r, const Setting& list, const Config& cfg) {
  r.require_list(list);
  if (static_cast<std::size_t>(list.getLength()) > cfg.dataplane.max_sessions) {
    r.fail(list, "more sessions than dataplane.max_sessions (" +
                     std::to_string(cfg.dataplane.max_sessions) + ")");
  }
  std::vector<SessionConfig> sessions;
  // The data plane finds a session by its local ids from the outside and by
  // its inner address from the inside: both must be unique.
  std::map<std::pair<std::uint16_t, std::uint16_t>, int> by_ids;
  std::map<std::uint32_t, std::size_t> by_addr;  // index into sessions
  std::map<std::uint64_t, std::size_t> by_prefix;
  const SaIndex sas = index_sas(cfg);
  for (const Setting& s : list) {
    SessionConfig sc = read_session(r, s, cfg, sas);
    const auto& p = sc.params;
    const auto [at, fresh] =
        by_ids.emplace(std::pair(p.local_tunnel_id, p.local_session_id), sc.line);
    if (!fresh) {
      r.fail(s, session_text(p.local_tunnel_id, p.local_session_id) +
                    " is already defined at line " + std::to_string(at->second));
    }
    const auto [other, free] = by_addr.emplace(p.inner_addr, sessions.size());
    if (!free) {
      const SessionConfig& o = sessions[other->second];
      r.fail(s["address"], "'address' " + format_ipv4(p.inner_addr) + " is already given to " +
                               session_text(o.params.local_tunnel_id, o.params.local_session_id) +
                               " at line " + std::to_string(o.line));
    }
    if (p.ipv6 != 0) {
      std::uint64_t key = 0;
      std::memcpy(&key, p.ipv6_prefix, 8);
      const auto [o6, free6] = by_prefix.emplace(key, sessions.size());
      if (!free6) {
        const SessionConfig& o = sessions[o6->second];
        r.fail(s["ipv6_prefix"], "'ipv6_prefix' is already given to " +
                                     session_text(o.params.local_tunnel_id, o.params.local_session_id) +
                                     " at line " + std::to_string(o.line));
      }
    }
    sessions.push_back(sc);
  }
  return sessions;
}

}  // namespace l2tpgw::config_detail
