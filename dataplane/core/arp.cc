#include "dataplane/core/arp.h"

#include <rte_cycles.h>

namespace l2tpgw {
namespace {

constexpr std::uint16_t arp_request_op = 1;
constexpr std::uint16_t arp_reply_op = 2;  // RFC 826
constexpr wire::Mac broadcast{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

}  // namespace

void arp_input(WorkerCtx& w, const PortInfo& port, rte_mbuf* m) noexcept {
  if (rte_pktmbuf_data_len(m) < sizeof(wire::EthHdr) + sizeof(wire::ArpHdr)) {
    w.drop(m, Drop::runt);
    return;
  }
  auto* eth = rte_pktmbuf_mtod(m, wire::EthHdr*);
  auto* arp = reinterpret_cast<wire::ArpHdr*>(eth + 1);
  if (arp->htype.host() != 1 || arp->ptype.host() != wire::ethertype_ipv4 || arp->hlen != 6 ||
      arp->plen != 4) {
    w.drop(m, Drop::arp_malformed);
    return;
  }
  const std::uint16_t op = arp->op.host();
  const std::uint32_t spa = arp->spa.host();
  // RFC 826 "merge": refresh what we know of the sender whenever it talks to us.
  if (arp->tpa.host() == port.addr && spa != 0) {
    port.neighbors->learn(spa, arp->sha);
  }
  if (op != arp_request_op || arp->tpa.host() != port.addr) {
    // A reply has been learnt from above; anything else is not for us.
    w.drop(m, Drop::arp_ignored);
    return;
  }
  arp->op = wire::Be16::from_host(arp_reply_op);
  arp->tha = arp->sha;
  arp->tpa = arp->spa;
  arp->sha = port.mac;
  arp->spa = wire::Be32::from_host(port.addr);
  eth->dst = eth->src;
  eth->src = port.mac;
  // Frames shorter than 60 bytes are padded by the PMD or the NIC.
  ++w.ctr.arp_replies;
  w.send(port, m);
}

void arp_request(WorkerCtx& w, const PortInfo& port, std::uint32_t target) noexcept {
  // One request per second per target: enough to resolve, no flood when a
  // next hop is down.
  if (!port.neighbors->should_request(target, rte_rdtsc(), w.rt.tsc_hz)) {
    return;
  }
  rte_mbuf* m = rte_pktmbuf_alloc(w.rt.pool);
  if (m == nullptr) {
    ++w.ctr.drops[static_cast<unsigned>(Drop::mbuf_alloc)];
    return;
  }
  auto* eth = reinterpret_cast<wire::EthHdr*>(
      rte_pktmbuf_append(m, sizeof(wire::EthHdr) + sizeof(wire::ArpHdr)));
  auto* arp = reinterpret_cast<wire::ArpHdr*>(eth + 1);
  eth->dst = broadcast;
  eth->src = port.mac;
  eth->type = wire::Be16::from_host(wire::ethertype_arp);
  arp->htype = wire::Be16::from_host(1);
  arp->ptype = wire::Be16::from_host(wire::ethertype_ipv4);
  arp->hlen = 6;
  arp->plen = 4;
  arp->op = wire::Be16::from_host(arp_request_op);
  arp->sha = port.mac;
  arp->spa = wire::Be32::from_host(port.addr);
  arp->tha = wire::Mac{};
  arp->tpa = wire::Be32::from_host(target);
  w.send(port, m);
}

}  // namespace l2tpgw
