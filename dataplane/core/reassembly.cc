#include "dataplane/core/reassembly.h"

#include <rte_ip.h>

#include <cstring>
#include <stdexcept>

#include "dataplane/wire/checksum.h"

namespace l2tpgw {
namespace {

// Datagrams being reassembled at once per worker: clients fragment only
// full-size packets, a few per client in flight; 4096 covers thousands of
// clients and bounds the table (and the mbufs it may hold) per worker.
constexpr std::uint32_t max_flows = 4096;
constexpr std::uint32_t bucket_entries = 16;
// RFC 791 suggests 15 s for hosts; a client retransmits long before that,
// and fragments held longer only pin mbufs: 2 s.
constexpr std::uint64_t timeout_ms = 2000;
// The largest datagram taken: an ESP packet of a 1500-byte inner packet with
// every overhead fits; anything larger would not fit one mbuf's data room.
constexpr unsigned max_datagram = 2000;

}  // namespace

Reassembly::Reassembly(std::uint64_t tsc_hz, int socket)
    : _tbl(rte_ip_frag_table_create(max_flows, bucket_entries, max_flows, tsc_hz / 1000 * timeout_ms,
                                    socket)) {
  if (_tbl == nullptr) {
    throw std::runtime_error("cannot create the reassembly table");
  }
}

Reassembly::~Reassembly() {
  rte_ip_frag_free_death_row(&_dead, 0);
  rte_ip_frag_table_destroy(_tbl);
}

rte_mbuf* Reassembly::add(WorkerCtx& w, rte_mbuf* m, wire::Ipv4Hdr* ip) noexcept {
  m->l2_len = sizeof(wire::EthHdr);
  m->l3_len = ip->ihl_bytes();
  rte_mbuf* whole =
      rte_ipv4_frag_reassemble_packet(_tbl, &_dead, m, w.now(), reinterpret_cast<rte_ipv4_hdr*>(ip));
  if (whole == nullptr) {
    return nullptr;
  }
  if (whole->pkt_len > sizeof(wire::EthHdr) + max_datagram) {
    w.drop(whole, Drop::reassembly_too_big);
    return nullptr;
  }
  rte_mbuf* flat = whole;
  if (whole->nb_segs > 1) {
    flat = rte_pktmbuf_alloc(w.rt.pool);
    if (flat == nullptr) {
      w.drop(whole, Drop::mbuf_alloc);
      return nullptr;
    }
    auto* dst = reinterpret_cast<std::uint8_t*>(rte_pktmbuf_append(flat, static_cast<std::uint16_t>(whole->pkt_len)));
    const void* src = rte_pktmbuf_read(whole, 0, whole->pkt_len, dst);
    if (src != dst) {
      std::memcpy(dst, src, whole->pkt_len);
    }
    rte_pktmbuf_free(whole);
  }
  // rte_ip_frag leaves the checksum to transmit offload; ours is software.
  auto* h = rte_pktmbuf_mtod_offset(flat, wire::Ipv4Hdr*, sizeof(wire::EthHdr));
  h->csum = wire::Be16{0};
  h->csum = wire::Be16::from_host(
      wire::csum({reinterpret_cast<const std::uint8_t*>(h), h->ihl_bytes()}));
  return flat;
}

void Reassembly::free_dropped(WorkerCtx& w) noexcept {
  // Flows past their timeout are otherwise only noticed when another
  // fragment meets them; the sweep stops at the first live entry.
  rte_ip_frag_table_del_expired_entries(_tbl, &_dead, w.now());
  if (_dead.cnt == 0) {
    return;
  }
  w.ctr.drops[static_cast<unsigned>(Drop::ip_fragment)] += _dead.cnt;
  rte_ip_frag_free_death_row(&_dead, 0);
}

}  // namespace l2tpgw
