#include "dataplane/core/inner_mtu.h"

#include <algorithm>
#include <cstring>

#include "dataplane/core/ip_output.h"
#include "dataplane/wire/ip_too_big.h"

namespace l2tpgw {

TooBig too_big_action(const WorkerCtx& w, const wire::Ipv4Hdr& ip) noexcept {
  const InnerTooBig policy = w.rt.cfg.inner_too_big;
  if ((ip.frag.host() & wire::ipv4_df) != 0 || policy == InnerTooBig::icmp) {
    return TooBig::send_icmp;
  }
  return policy == InnerTooBig::drop ? TooBig::drop : TooBig::fragment;
}

// Built in place: the new IPv4 and ICMP headers take the room of the
// Ethernet header and of the headroom in front of it, so the quoted
// datagram stays where it is.
bool send_frag_needed(WorkerCtx& w, rte_mbuf* m, unsigned inner_len, unsigned mtu, Drop& why) noexcept {
  auto* inner = rte_pktmbuf_mtod_offset(m, std::uint8_t*, sizeof(wire::EthHdr));
  if (w.rt.inside < 0 || !wire::icmp_error_allowed({inner, inner_len})) {
    why = Drop::inner_too_big;
    return false;
  }
  constexpr unsigned hdrs = sizeof(wire::Ipv4Hdr) + sizeof(wire::IcmpHdr);
  if (rte_pktmbuf_headroom(m) < hdrs) {
    why = Drop::encap_too_big;
    return false;
  }
  if (!w.take_icmp_token()) {
    why = Drop::icmp_rate;
    return false;
  }
  const std::uint32_t to = reinterpret_cast<const wire::Ipv4Hdr*>(inner)->src.host();
  const unsigned quote = std::min(inner_len, wire::icmp_quote_max);
  rte_pktmbuf_prepend(m, hdrs);
  rte_pktmbuf_trim(m, static_cast<std::uint16_t>(inner_len - quote));
  const PortInfo& inside = w.rt.ports[static_cast<unsigned>(w.rt.inside)];
  wire::write_icmp_frag_needed({rte_pktmbuf_mtod_offset(m, std::uint8_t*, sizeof(wire::EthHdr)), hdrs + quote},
                               inside.addr, to, static_cast<std::uint16_t>(mtu));
  ++w.ctr.icmp_too_big_sent;
  ip_output(w, inside, m);
  return true;
}

// m keeps the first fragment; the others are copied into fresh mbufs.
unsigned cut_fragments(WorkerCtx& w, rte_mbuf* m, unsigned inner_len, unsigned mtu, rte_mbuf** frags,
                       Drop& why) noexcept {
  auto* inner = rte_pktmbuf_mtod_offset(m, wire::Ipv4Hdr*, sizeof(wire::EthHdr));
  const unsigned per = wire::fragment_data_len(mtu);
  const unsigned data_len = inner_len - sizeof(wire::Ipv4Hdr);
  const unsigned n = wire::fragment_count(data_len, per);
  if (n < 2 || n > max_inner_fragments) {
    why = Drop::inner_too_big;
    return 0;
  }
  frags[0] = m;
  if (rte_pktmbuf_alloc_bulk(w.rt.pool, frags + 1, n - 1) != 0) {
    why = Drop::mbuf_alloc;
    return 0;
  }
  const wire::Ipv4Hdr orig = *inner;
  const auto* data = reinterpret_cast<const std::uint8_t*>(inner + 1);
  for (unsigned k = 1; k < n; ++k) {
    const unsigned off = k * per;
    const unsigned len = std::min(per, data_len - off);
    // Ethernet's room in front, as every later stage expects; its bytes are not read.
    auto* f = reinterpret_cast<std::uint8_t*>(
        rte_pktmbuf_append(frags[k], static_cast<std::uint16_t>(sizeof(wire::EthHdr) + sizeof(wire::Ipv4Hdr) + len)));
    auto* h = reinterpret_cast<wire::Ipv4Hdr*>(f + sizeof(wire::EthHdr));
    wire::ipv4_fragment_header(*h, orig, off, len, k == n - 1);
    std::memcpy(h + 1, data + off, len);
  }
  wire::ipv4_fragment_header(*inner, orig, 0, per, false);
  rte_pktmbuf_trim(m, static_cast<std::uint16_t>(data_len - per));
  ++w.ctr.inner_fragmented;
  w.ctr.inner_fragments += n;
  return n;
}

}  // namespace l2tpgw
