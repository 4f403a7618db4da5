#include "dataplane/core/esp_encap.h"

#include <cstring>

#include "dataplane/core/ip_output.h"
#include "dataplane/core/sa_lifetime.h"
#include "dataplane/wire/checksum.h"
#include "dataplane/wire/esp.h"

namespace l2tpgw {
namespace {

constexpr unsigned l2l3 = sizeof(wire::EthHdr) + sizeof(wire::Ipv4Hdr);

struct alignas(16) Pending {
  crypto::JobScratch scratch;
  rte_mbuf* m;
  SaState* sa;
  std::uint32_t payload_len;
};

// Frames the packet as ESP around its payload; returns the ESP header, or
// nullptr when the packet was dropped.
std::uint8_t* frame(WorkerCtx& w, rte_mbuf* m, SaState& sa, unsigned payload_len,
                    unsigned& esp_len) noexcept {
  const unsigned pad = wire::esp_pad_len(payload_len, sa.keys.block_len);
  const unsigned tail = pad + sizeof(wire::EspTrailer) + sa.keys.icv_len;
  if (m->nb_segs != 1 || rte_pktmbuf_headroom(m) < sa.hdr_len ||
      rte_pktmbuf_tailroom(m) < tail + sa.keys.tag_spill) {
    w.drop(m, Drop::encap_too_big);
    return nullptr;
  }
  // RFC 4303 §3.3.3: without ESN the counter must not cycle; the SA is spent.
  const std::uint64_t seq = sa.seq_out.fetch_add(1, std::memory_order_relaxed) + 1;
  if (seq > 0xffffffffu) {
    sa.hard_expired.store(true, std::memory_order_relaxed);
    ++w.sa_ctr[sa.slot].expired_drops;
    w.drop(m, Drop::sa_hard_expired);
    return nullptr;
  }
  auto* base = reinterpret_cast<std::uint8_t*>(rte_pktmbuf_prepend(m, sa.hdr_len));
  std::memmove(base, base + sa.hdr_len, l2l3);
  auto* ip = reinterpret_cast<wire::Ipv4Hdr*>(base + sizeof(wire::EthHdr));
  std::uint8_t* esp = base + l2l3;
  esp_len = sizeof(wire::EspHdr) + sa.keys.iv_len + payload_len + pad + sizeof(wire::EspTrailer) + sa.keys.icv_len;
  const channel::SaParams& sp = sa.params;
  if (sp.encap == channel::Encap::udp) {
    auto* udp = reinterpret_cast<wire::UdpHdr*>(esp);
    udp->src = wire::Be16::from_host(sp.local_port);
    udp->dst = wire::Be16::from_host(sp.peer_port);
    udp->len = wire::Be16::from_host(static_cast<std::uint16_t>(sizeof(wire::UdpHdr) + esp_len));
    udp->csum = wire::Be16{0};  // RFC 3948 §2.1: zero for IPv4
    esp += sizeof(wire::UdpHdr);
  }
  auto* hdr = reinterpret_cast<wire::EspHdr*>(esp);
  hdr->spi = wire::Be32::from_host(sp.spi);
  hdr->seq = wire::Be32::from_host(static_cast<std::uint32_t>(seq));
  std::uint8_t* iv = esp + sizeof(wire::EspHdr);
  if (info(sp.cipher).aead) {
    // RFC 4106 §3.1: the IV must never repeat under a key; the sequence
    // number is the counter the RFC suggests.
    const wire::Be64 ctr = wire::Be64::from_host(seq);
    std::memcpy(iv, &ctr, sizeof ctr);
  } else {
    w.iv.take(iv, sa.keys.iv_len);
  }
  auto* trailer = reinterpret_cast<std::uint8_t*>(rte_pktmbuf_append(m, static_cast<std::uint16_t>(tail)));
  wire::esp_write_trailer(trailer, pad, ip->proto);
  ip->proto = sp.encap == channel::Encap::udp ? wire::ipproto_udp : wire::ipproto_esp;
  ip->total_len = wire::Be16::from_host(static_cast<std::uint16_t>(rte_pktmbuf_data_len(m) - sizeof(wire::EthHdr)));
  ip->csum = wire::Be16{0};
  ip->csum = wire::Be16::from_host(wire::ipv4_header_csum(reinterpret_cast<const std::uint8_t*>(ip)));
  return esp;
}

void finish(WorkerCtx& w, IMB_JOB* job, rte_mbuf** out, unsigned& n_out) noexcept {
  const Pending& pd = *static_cast<const Pending*>(job->user_data);
  if (job->status != IMB_STATUS_COMPLETED) {
    w.drop(pd.m, Drop::crypto_error);
    return;
  }
  // As on decap: the limit may be reached inside this burst.
  if (!sa_usable(*pd.sa)) {
    ++w.sa_ctr[pd.sa->slot].expired_drops;
    w.drop(pd.m, Drop::sa_hard_expired);
    return;
  }
  SaCounters& c = w.sa_ctr[pd.sa->slot];
  ++c.packets;
  c.bytes += pd.payload_len;
  sa_account(w, *pd.sa, pd.payload_len);
  ++w.ctr.esp_encapped;
  out[n_out++] = pd.m;
}

}  // namespace

unsigned esp_encap(WorkerCtx& w, const EncapItem* in, unsigned n, rte_mbuf** out) noexcept {
  Pending pending[burst_size];
  IMB_MGR* mgr = w.mgr.get();
  unsigned n_out = 0;
  unsigned k = 0;
  for (unsigned i = 0; i < n; ++i) {
    rte_mbuf* m = in[i].m;
    SaState& sa = *in[i].sa;
    if (!sa_usable(sa)) {
      ++w.sa_ctr[sa.slot].expired_drops;
      w.drop(m, Drop::sa_hard_expired);
      continue;
    }
    const auto* ip = rte_pktmbuf_mtod_offset(m, const wire::Ipv4Hdr*, sizeof(wire::EthHdr));
    const unsigned payload_len = ip->total_len.host() - sizeof(wire::Ipv4Hdr);
    unsigned esp_len = 0;
    std::uint8_t* esp = frame(w, m, sa, payload_len, esp_len);
    if (esp == nullptr) {
      continue;
    }
    Pending& pd = pending[k++];
    pd.m = m;
    pd.sa = &sa;
    pd.payload_len = payload_len;
    IMB_JOB* job = IMB_GET_NEXT_JOB(mgr);
    crypto::fill_esp_encrypt_job(job, sa.keys, esp, esp_len, pd.scratch);
    job->user_data = &pd;
    job = IMB_SUBMIT_JOB(mgr);
    if (job != nullptr) {
      finish(w, job, out, n_out);
    }
  }
  while (IMB_JOB* job = IMB_FLUSH_JOB(mgr)) {
    finish(w, job, out, n_out);
  }
  return n_out;
}

void EncapBatch::flush(WorkerCtx& w) noexcept {
  rte_mbuf* out[burst_size];
  const unsigned n_out = esp_encap(w, _items, _n, out);
  _n = 0;
  for (unsigned i = 0; i < n_out; ++i) {
    ip_output(w, _port, out[i]);
  }
}

}  // namespace l2tpgw
