#include "controlplane/names.h"

#include <cstdio>

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

}  // namespace l2tpgw::cp
