#include "dataplane/core/inside.h"

#include <rte_prefetch.h>

#include "dataplane/core/esp_encap.h"
#include "dataplane/core/esp_tunnel.h"
#include "dataplane/core/ip6_output.h"
#include "dataplane/core/ip_input.h"
#include "dataplane/core/ip_output.h"
#include "dataplane/core/l2tp_encap.h"

namespace l2tpgw {
namespace {

constexpr unsigned prefetch_ahead = 4;  // as on the outside

// An IPv6 frame from the inside: checked, trimmed, then ours (NDP, echo)
// or a session's, found by the /64 of its destination.
void inside_input6(WorkerCtx& w, const PortInfo& port, rte_mbuf* m, EncapBatch& batch) noexcept {
  if (!port.has_v6) {
    w.drop(m, Drop::unknown_ethertype);
    return;
  }
  auto* eth = rte_pktmbuf_mtod(m, wire::EthHdr*);
  const unsigned len = rte_pktmbuf_data_len(m) - sizeof(wire::EthHdr);
  const std::span<const std::uint8_t> l3{reinterpret_cast<const std::uint8_t*>(eth + 1), len};
  const wire::Ipv6Check c = wire::ipv6_check(l3);
  if (c != wire::Ipv6Check::ok) {
    w.drop(m, c == wire::Ipv6Check::truncated ? Drop::runt : Drop::ip6_malformed);
    return;
  }
  auto* ip = reinterpret_cast<wire::Ipv6Hdr*>(eth + 1);
  const unsigned total = sizeof(wire::Ipv6Hdr) + ip->payload_len.host();
  rte_pktmbuf_trim(m, static_cast<std::uint16_t>(len - total));
  if (ip->dst == port.addr6 || wire::is_multicast(ip->dst)) {
    ip6_local_input(w, port, m);
    return;
  }
  if (!wire::mac_equal(eth->dst, port.mac)) {
    w.drop(m, Drop::not_for_us);
    return;
  }
  if (SessionState* s = w.rt.sessions->find_by_prefix6(wire::prefix64(ip->dst.data()))) {
    l2tp_encap6(w, *s, m, batch);
    return;
  }
  w.drop(m, Drop::no_session);
}

}  // namespace

void inside_input(WorkerCtx& w, const PortInfo& port, rte_mbuf** pkts, unsigned n) noexcept {
  const PortInfo& outside = w.rt.outside_port();
  EncapBatch batch(outside);
  SaState* last_sa = nullptr;
  std::uint32_t last_dst = 0;
  for (unsigned i = 0; i < n; ++i) {
    if (i + prefetch_ahead < n) {
      rte_prefetch0(rte_pktmbuf_mtod(pkts[i + prefetch_ahead], void*));
    }
    rte_mbuf* m = pkts[i];
    if (rte_pktmbuf_data_len(m) >= sizeof(wire::EthHdr) &&
        rte_pktmbuf_mtod(m, const wire::EthHdr*)->type.host() == wire::ethertype_ipv6) [[unlikely]] {
      inside_input6(w, port, m, batch);
      continue;
    }
    wire::Ipv4Hdr* ip = ip_input(w, port, m);
    if (ip == nullptr) {
      continue;
    }
    const std::uint32_t dst = ip->dst.host();
    if (dst == port.addr) {
      if (ip->proto == wire::ipproto_icmp) {
        icmp_input(w, port, m);
      } else {
        w.drop(m, Drop::ip_proto);
      }
      continue;
    }
    if (SessionState* s = w.rt.sessions->find_by_addr(dst)) {
      l2tp_encap(w, *s, m, batch);
      continue;
    }
    if (w.rt.sas->has_tunnels()) [[unlikely]] {
      if (SaState* sa = w.rt.sas->find_tunnel(dst)) {
        tunnel_output(w, *sa, m, batch);
        continue;
      }
    }
    if (ip->src.host() != outside.addr) {
      w.drop(m, Drop::no_session);
      continue;
    }
    SaState* sa = dst == last_dst && last_sa != nullptr ? last_sa : w.rt.sas->find_outbound(dst);
    if (sa == nullptr) {
      w.drop(m, Drop::no_outbound_sa);
      continue;
    }
    last_dst = dst;
    last_sa = sa;
    batch.add(w, m, sa);
  }
  batch.flush(w);
}

}  // namespace l2tpgw
