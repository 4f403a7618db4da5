#include "dataplane/core/tx_ring.h"

#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <cstring>

#include "dataplane/core/esp_encap.h"
#include "dataplane/core/ip_output.h"
#include "dataplane/wire/ipv4.h"

namespace l2tpgw {
namespace {

// Builds the mbuf of one message; nullptr when dropped.
rte_mbuf* to_mbuf(WorkerCtx& w, const channel::TxMsg& msg) noexcept {
  const std::span<const std::uint8_t> pkt{msg.data, msg.len};
  const auto* ip = reinterpret_cast<const wire::Ipv4Hdr*>(msg.data);
  if (msg.hdr.version != channel::version || msg.hdr.type != channel::MsgType::tx ||
      msg.len > channel::max_packet || wire::ipv4_check(pkt) != wire::Ipv4Check::ok ||
      ip->ihl_bytes() != sizeof(wire::Ipv4Hdr) || ip->total_len.host() != msg.len ||
      msg.port >= w.rt.ports.size()) {
    ++w.ctr.drops[static_cast<unsigned>(Drop::tx_malformed)];
    return nullptr;
  }
  rte_mbuf* m = rte_pktmbuf_alloc(w.rt.pool);
  if (m == nullptr) {
    ++w.ctr.drops[static_cast<unsigned>(Drop::mbuf_alloc)];
    return nullptr;
  }
  auto* p = reinterpret_cast<std::uint8_t*>(rte_pktmbuf_append(m, sizeof(wire::EthHdr) + msg.len));
  if (p == nullptr) {
    w.drop(m, Drop::encap_too_big);
    return nullptr;
  }
  std::memcpy(p + sizeof(wire::EthHdr), msg.data, msg.len);
  return m;
}

}  // namespace

unsigned drain_tx_ring(WorkerCtx& w) noexcept {
  constexpr unsigned tx_batch = WorkerCtx::tx_batch;
  const auto msgs = w.tx_msgs();
  const unsigned n = rte_ring_sc_dequeue_burst_elem(w.rt.seg->tx_ring(), msgs.data(),
                                                   channel::packet_elem_size, tx_batch, nullptr);
  EncapItem enc[tx_batch];
  unsigned n_enc = 0;
  const PortInfo& outside = w.rt.outside_port();
  for (unsigned i = 0; i < n; ++i) {
    const channel::TxMsg& msg = msgs[i];
    rte_mbuf* m = to_mbuf(w, msg);
    if (m == nullptr) {
      continue;
    }
    const PortInfo& port = w.rt.ports[msg.port];
    if (msg.via_sa == 0) {
      ip_output(w, port, m);
      continue;
    }
    SaState* sa = w.rt.sas->find_outbound(msg.sa_spi, msg.peer_addr);
    if (sa == nullptr || port.index != outside.index) {
      w.drop(m, Drop::no_outbound_sa);
      continue;
    }
    enc[n_enc++] = {m, sa};
  }
  rte_mbuf* out[tx_batch];
  const unsigned n_out = esp_encap(w, enc, n_enc, out);
  for (unsigned i = 0; i < n_out; ++i) {
    ip_output(w, outside, out[i]);
  }
  return n;
}

}  // namespace l2tpgw
