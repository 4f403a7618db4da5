#include "dataplane/core/punt.h"

#include <rte_cycles.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <cstring>

namespace l2tpgw {

void punt(WorkerCtx& w, const PortInfo& port, rte_mbuf* m, channel::PuntReason reason,
          const PuntOrigin& from) noexcept {
  const unsigned len = rte_pktmbuf_data_len(m) - sizeof(wire::EthHdr);
  if (len > channel::max_packet) {
    w.drop(m, Drop::punt_too_big);
    return;
  }
  // Checked before the copy so a flood costs the worker almost nothing.
  if (!w.take_punt_token()) {
    w.drop(m, Drop::punt_rate);
    return;
  }
  channel::PuntMsg& msg = w.punt_msg();
  msg.hdr.version = channel::version;
  msg.hdr.type = channel::MsgType::punt;
  msg.hdr.cookie = 0;
  msg.reason = reason;
  msg.port = port.index;
  msg.len = static_cast<std::uint16_t>(len);
  msg.sa_slot = from.sa != nullptr ? from.sa->slot : channel::no_sa;
  msg.sa_spi = from.sa != nullptr ? from.sa->params.spi : 0;
  msg.peer_addr = from.peer_addr;
  msg.peer_port = from.peer_port;
  msg.encap = from.encap;
  msg.tsc = rte_rdtsc();
  std::memcpy(msg.data, rte_pktmbuf_mtod_offset(m, const std::uint8_t*, sizeof(wire::EthHdr)), len);
  if (rte_ring_mp_enqueue_elem(w.rt.seg->punt_ring(), &msg, channel::packet_elem_size) != 0) {
    w.drop(m, Drop::punt_ring_full);
    return;
  }
  ++w.ctr.punted;
  rte_pktmbuf_free(m);
}

}  // namespace l2tpgw
