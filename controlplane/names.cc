#include "controlplane/names.h"

#include <cstdio>
#include <utility>

#include "dataplane/config/config.h"

namespace l2tpgw::cp {

std::string spi_hex(std::uint32_t spi) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", spi);
  return buf;
}

std::string direction_name(channel::Direction d) {
  return d == channel::Direction::in ? "in" : "out";
}

std::string encap_name(channel::Encap e) { return e == channel::Encap::udp ? "udp" : "none"; }

std::string mode_name(channel::Mode m) {
  return m == channel::Mode::tunnel ? "tunnel" : "transport";
}

std::string prefix_text(const channel::Prefix& p) {
  return format_ipv4(p.addr) + "/" + std::to_string(p.len);
}

std::string transform_name(const channel::SaParams& p) {
  return std::string(info(p.cipher).name) + "/" + std::string(info(p.auth).name);
}

std::string sa_name(channel::Direction d, std::uint32_t spi, std::uint32_t peer) {
  return direction_name(d) + " spi " + spi_hex(spi) + " peer " + format_ipv4(peer);
}

std::string sa_name(const channel::SaParams& p) { return sa_name(p.dir, p.spi, p.peer_addr); }

std::string ack_result_name(channel::AckResult r) {
  switch (r) {
    case channel::AckResult::ok: return "ok";
    case channel::AckResult::replaced: return "replaced";
    case channel::AckResult::not_found: return "not_found";
    case channel::AckResult::table_full: return "table_full";
    case channel::AckResult::bad_params: return "bad_params";
    case channel::AckResult::bad_message: return "bad_message";
  }
  return "result_" + std::to_string(static_cast<unsigned>(r));
}

std::string punt_reason_name(channel::PuntReason r) {
  switch (r) {
    case channel::PuntReason::ike: return "ike";
    case channel::PuntReason::l2tp: return "l2tp";
    case channel::PuntReason::ppp: return "ppp";
  }
  return "reason_" + std::to_string(static_cast<unsigned>(r));
}

std::string lifetime_kind_name(channel::LifetimeKind k) {
  switch (k) {
    case channel::LifetimeKind::soft_bytes: return "soft byte";
    case channel::LifetimeKind::hard_bytes: return "hard byte";
    case channel::LifetimeKind::soft_packets: return "soft packet";
    case channel::LifetimeKind::hard_packets: return "hard packet";
  }
  return "unknown";
}

std::string session_name(std::uint16_t local_tunnel_id, std::uint16_t local_session_id) {
  return "tunnel " + std::to_string(local_tunnel_id) + " session " +
         std::to_string(local_session_id);
}

std::string session_text(const channel::SessionParams& p) {
  return session_name(p.local_tunnel_id, p.local_session_id) + " peer " +
         format_ipv4(p.peer_addr) + ":" + std::to_string(p.peer_port) + " address " +
         format_ipv4(p.inner_addr) + " sa in " + spi_hex(p.sa_in_spi) + " out " +
         spi_hex(p.sa_out_spi);
}

std::string session_flags(const channel::SessionParams& p) {
  std::string f;
  for (const auto& [on, name] : {std::pair{p.ppp_acfc, "acfc"}, std::pair{p.ppp_pfc, "pfc"},
                                 std::pair{p.l2tp_sequencing, "seq"}}) {
    if (on != 0) {
      if (!f.empty()) {
        f += ',';
      }
      f += name;
    }
  }
  return f.empty() ? "-" : f;
}

std::string mppe_mode(const channel::SessionParams& p) {
  if (p.mppe_bits == 0) {
    return "none";
  }
  return "mppe" + std::to_string(p.mppe_bits) +
         (p.mppe_stateless != 0 ? "-stateless" : "-stateful");
}

}  // namespace l2tpgw::cp
