#include "dataplane/core/ip_input.h"

#include "dataplane/core/arp.h"
#include "dataplane/wire/icmp.h"
#include "dataplane/wire/ipv4.h"

namespace l2tpgw {
namespace {

Drop drop_for(wire::Ipv4Check c) noexcept {
  switch (c) {
    case wire::Ipv4Check::truncated: return Drop::runt;
    case wire::Ipv4Check::version: return Drop::ip_version;
    case wire::Ipv4Check::header_len: return Drop::ip_header_len;
    case wire::Ipv4Check::total_len: return Drop::ip_total_len;
    case wire::Ipv4Check::checksum: return Drop::ip_checksum;
    case wire::Ipv4Check::ttl_zero: return Drop::ip_ttl;
    case wire::Ipv4Check::ok: break;
  }
  return Drop::ip_version;
}

}  // namespace

wire::Ipv4Hdr* ip_input(WorkerCtx& w, const PortInfo& port, rte_mbuf* m) noexcept {
  if (m->nb_segs != 1) {
    w.drop(m, Drop::multi_segment);
    return nullptr;
  }
  const unsigned len = rte_pktmbuf_data_len(m);
  if (len < sizeof(wire::EthHdr)) {
    w.drop(m, Drop::runt);
    return nullptr;
  }
  auto* eth = rte_pktmbuf_mtod(m, wire::EthHdr*);
  const std::uint16_t type = eth->type.host();
  if (type == wire::ethertype_arp) {
    arp_input(w, port, m);
    return nullptr;
  }
  if (type != wire::ethertype_ipv4) {
    w.drop(m, Drop::unknown_ethertype);
    return nullptr;
  }
  if (!wire::mac_equal(eth->dst, port.mac)) {
    w.drop(m, Drop::not_for_us);
    return nullptr;
  }
  const std::span<const std::uint8_t> l3{reinterpret_cast<const std::uint8_t*>(eth + 1),
                                         len - sizeof(wire::EthHdr)};
  const wire::Ipv4Check c = wire::ipv4_check(l3);
  if (c != wire::Ipv4Check::ok) {
    w.drop(m, drop_for(c));
    return nullptr;
  }
  auto* ip = reinterpret_cast<wire::Ipv4Hdr*>(eth + 1);
  // Options would shift every offset of the ESP path; IKE and L2TP peers do
  // not send them.
  if (ip->ihl_bytes() != sizeof(wire::Ipv4Hdr)) {
    w.drop(m, Drop::ip_options);
    return nullptr;
  }
  // Ethernet pads short frames: keep exactly the IPv4 packet.
  rte_pktmbuf_trim(m, static_cast<std::uint16_t>(l3.size() - ip->total_len.host()));
  return ip;
}

bool icmp_echo_reply(WorkerCtx& w, rte_mbuf* m, Drop malformed, Drop unhandled) noexcept {
  const std::span<std::uint8_t> ip{rte_pktmbuf_mtod_offset(m, std::uint8_t*, sizeof(wire::EthHdr)),
                                   rte_pktmbuf_data_len(m) - sizeof(wire::EthHdr)};
  switch (wire::icmp_echo_reply_in_place(ip)) {
    case wire::EchoResult::malformed:
      w.drop(m, malformed);
      return false;
    case wire::EchoResult::not_echo_request:
      w.drop(m, unhandled);
      return false;
    case wire::EchoResult::reply:
      break;
  }
  return true;
}

void icmp_input(WorkerCtx& w, const PortInfo& port, rte_mbuf* m) noexcept {
  if (!icmp_echo_reply(w, m, Drop::icmp_malformed, Drop::icmp_type)) {
    return;
  }
  auto* eth = rte_pktmbuf_mtod(m, wire::EthHdr*);
  eth->dst = eth->src;
  eth->src = port.mac;
  ++w.ctr.icmp_replies;
  w.send(port, m);
}

}  // namespace l2tpgw
