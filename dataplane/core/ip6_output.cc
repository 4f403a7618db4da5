#include "dataplane/core/ip6_output.h"

#include <rte_cycles.h>

#include "dataplane/wire/ipv6.h"

namespace l2tpgw {
namespace {

wire::Ipv6Hdr* ipv6_of(rte_mbuf* m) noexcept {
  return rte_pktmbuf_mtod_offset(m, wire::Ipv6Hdr*, sizeof(wire::EthHdr));
}

std::span<std::uint8_t> packet_of(rte_mbuf* m) noexcept {
  return {rte_pktmbuf_mtod_offset(m, std::uint8_t*, sizeof(wire::EthHdr)),
          rte_pktmbuf_data_len(m) - sizeof(wire::EthHdr)};
}

void nd_input(WorkerCtx& w, const PortInfo& port, rte_mbuf* m) noexcept {
  const auto bytes = packet_of(m);
  const wire::NdMessage nd = wire::parse_nd(bytes);
  if (!nd.ok) {
    w.drop(m, Drop::nd_malformed);
    return;
  }
  auto* eth = rte_pktmbuf_mtod(m, wire::EthHdr*);
  const wire::Ipv6Hdr& ip = *ipv6_of(m);
  if (nd.type == wire::icmp6_neighbor_advert) {
    // RFC 4861 §7.2.5: learn the target's link-layer address (the option,
    // or the frame's source when the option is left out).
    port.neighbors6->learn(nd.target, nd.has_lladdr ? nd.lladdr : eth->src);
    w.drop(m, Drop::nd_consumed);
    return;
  }
  if (nd.target != port.addr6) {
    w.drop(m, Drop::nd_consumed);
    return;
  }
  // §7.2.3: a solicitation from a unicast source teaches us the sender;
  // one from :: (duplicate address detection) is answered to all nodes.
  const bool dad = wire::is_unspecified(ip.src);
  if (!dad && nd.has_lladdr) {
    port.neighbors6->learn(ip.src, nd.lladdr);
  }
  const wire::Ipv6Addr all_nodes{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  const wire::Ipv6Addr dst = dad ? all_nodes : ip.src;
  const wire::Mac dst_mac = dad ? wire::multicast_mac(all_nodes) : (nd.has_lladdr ? nd.lladdr : eth->src);
  rte_pktmbuf_reset(m);
  auto* f = reinterpret_cast<std::uint8_t*>(rte_pktmbuf_append(m, sizeof(wire::EthHdr) + wire::nd_message_len));
  auto* out = reinterpret_cast<wire::EthHdr*>(f);
  out->dst = dst_mac;
  out->src = port.mac;
  out->type = wire::Be16::from_host(wire::ethertype_ipv6);
  wire::build_neighbor_advert(std::span<std::uint8_t, wire::nd_message_len>(f + sizeof(wire::EthHdr),
                                                                             wire::nd_message_len),
                              port.addr6, dst, port.mac);
  ++w.ctr.nd_advertisements;
  w.send(port, m);
}

}  // namespace

void ip6_output(WorkerCtx& w, const PortInfo& port, rte_mbuf* m) noexcept {
  auto* eth = rte_pktmbuf_mtod(m, wire::EthHdr*);
  const wire::Ipv6Hdr& ip = *ipv6_of(m);
  const wire::Ipv6Addr* next_hop = &ip.dst;
  if (!port.net6.contains(ip.dst)) {
    if (!port.gateway6) {
      w.drop(m, Drop::no_route);
      return;
    }
    next_hop = &*port.gateway6;
  }
  if (!port.neighbors6->lookup(*next_hop, eth->dst)) {
    nd_request(w, port, *next_hop);
    w.drop(m, Drop::nd_unresolved);
    return;
  }
  eth->src = port.mac;
  eth->type = wire::Be16::from_host(wire::ethertype_ipv6);
  w.send(port, m);
}

void ip6_local_input(WorkerCtx& w, const PortInfo& port, rte_mbuf* m) noexcept {
  const auto bytes = packet_of(m);
  const wire::Ipv6Hdr& ip = *ipv6_of(m);
  const std::uint8_t type =
      ip.next_header == wire::ipproto_icmpv6 && bytes.size() > sizeof(wire::Ipv6Hdr) ? bytes[sizeof(wire::Ipv6Hdr)]
                                                                                       : 0;
  if (type == wire::icmp6_neighbor_solicit || type == wire::icmp6_neighbor_advert) {
    nd_input(w, port, m);
    return;
  }
  if (type == wire::icmp6_echo_request && ip.dst == port.addr6) {
    if (!wire::icmp6_echo_reply_in_place(bytes)) {
      w.drop(m, Drop::icmp_malformed);
      return;
    }
    auto* eth = rte_pktmbuf_mtod(m, wire::EthHdr*);
    eth->dst = eth->src;
    eth->src = port.mac;
    ++w.ctr.icmp_replies;
    w.send(port, m);
    return;
  }
  w.drop(m, Drop::icmp6_unhandled);
}

void nd_request(WorkerCtx& w, const PortInfo& port, const wire::Ipv6Addr& target) noexcept {
  if (!port.neighbors6->should_request(target, rte_rdtsc(), w.rt.tsc_hz)) {
    return;
  }
  rte_mbuf* m = rte_pktmbuf_alloc(w.rt.pool);
  if (m == nullptr) {
    ++w.ctr.drops[static_cast<unsigned>(Drop::mbuf_alloc)];
    return;
  }
  auto* f = reinterpret_cast<std::uint8_t*>(rte_pktmbuf_append(m, sizeof(wire::EthHdr) + wire::nd_message_len));
  auto* eth = reinterpret_cast<wire::EthHdr*>(f);
  eth->dst = wire::multicast_mac(wire::solicited_node(target));
  eth->src = port.mac;
  eth->type = wire::Be16::from_host(wire::ethertype_ipv6);
  wire::build_neighbor_solicit(std::span<std::uint8_t, wire::nd_message_len>(f + sizeof(wire::EthHdr),
                                                                              wire::nd_message_len),
                               port.addr6, target, port.mac);
  w.send(port, m);
}

}  // namespace l2tpgw
