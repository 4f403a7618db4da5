#include "dataplane/core/esp_decap.h"

#include <cstring>

#include "dataplane/core/sa_lifetime.h"
#include "dataplane/wire/checksum.h"
#include "dataplane/wire/esp.h"

namespace l2tpgw {
namespace {

constexpr unsigned l2l3 = sizeof(wire::EthHdr) + sizeof(wire::Ipv4Hdr);

struct alignas(16) Pending {
  crypto::JobScratch scratch;
  std::uint8_t icv[32];
  EspPacket pkt;
  SaState* sa;
};

struct Burst {
  WorkerCtx& w;
  Decapped* out;
  unsigned n_out = 0;
  Pending pending[burst_size];
};

std::uint8_t* esp_of(const EspPacket& p) noexcept {
  return rte_pktmbuf_mtod_offset(p.m, std::uint8_t*, p.esp_off);
}

void drop_sa(WorkerCtx& w, rte_mbuf* m, Drop why, std::uint64_t SaCounters::*field,
             const SaState& sa) noexcept {
  ++(w.sa_ctr[sa.slot].*field);
  w.drop(m, why);
}

// Checks that need no crypto; nullptr when the packet was dropped.
SaState* admit(WorkerCtx& w, const EspPacket& p, std::uint32_t& last_spi, SaState*& last_sa) noexcept {
  const auto* esp = reinterpret_cast<const wire::EspHdr*>(esp_of(p));
  const std::uint32_t spi = esp->spi.host();
  SaState* sa = spi == last_spi ? last_sa : w.rt.sas->find_inbound(spi);
  if (sa == nullptr) {
    w.drop(p.m, Drop::esp_unknown_spi);
    return nullptr;
  }
  last_spi = spi;
  last_sa = sa;
  const auto* ip = rte_pktmbuf_mtod_offset(p.m, const wire::Ipv4Hdr*, sizeof(wire::EthHdr));
  const channel::SaParams& sp = sa->params;
  const bool udp = sp.encap == channel::Encap::udp;
  if (ip->src.host() != sp.peer_addr || udp != (p.peer_port != 0) || (udp && p.peer_port != sp.peer_port)) {
    w.drop(p.m, Drop::esp_wrong_peer);
    return nullptr;
  }
  if (!sa_usable(*sa)) {
    drop_sa(w, p.m, Drop::sa_hard_expired, &SaCounters::expired_drops, *sa);
    return nullptr;
  }
  const unsigned overhead = sizeof(wire::EspHdr) + sa->keys.iv_len + sa->keys.icv_len;
  if (p.esp_len < overhead + sizeof(wire::EspTrailer)) {
    drop_sa(w, p.m, Drop::esp_truncated, &SaCounters::decrypt_errors, *sa);
    return nullptr;
  }
  if ((p.esp_len - overhead) % sa->keys.block_len != 0) {
    drop_sa(w, p.m, Drop::esp_block_len, &SaCounters::decrypt_errors, *sa);
    return nullptr;
  }
  if (sa->replay.check(esp->seq.host()) != ReplayWindow::Verdict::ok) {
    drop_sa(w, p.m, Drop::esp_replay, &SaCounters::replay_drops, *sa);
    return nullptr;
  }
  return sa;
}

// Strips the ESP framing once the ICV and the sequence number are accepted.
void strip(Burst& b, const Pending& pd) noexcept {
  WorkerCtx& w = b.w;
  SaState& sa = *pd.sa;
  rte_mbuf* m = pd.pkt.m;
  std::uint8_t* esp = esp_of(pd.pkt);
  const unsigned ct_off = sizeof(wire::EspHdr) + sa.keys.iv_len;
  const unsigned ct_len = pd.pkt.esp_len - ct_off - sa.keys.icv_len;
  const auto* tr = reinterpret_cast<const wire::EspTrailer*>(esp + ct_off + ct_len - sizeof(wire::EspTrailer));
  const unsigned pad = tr->pad_len;
  const std::span<const std::uint8_t> before_trailer{esp + ct_off, ct_len - sizeof(wire::EspTrailer)};
  if (pad > before_trailer.size() || !wire::esp_pad_ok(before_trailer, pad)) {
    drop_sa(w, m, Drop::esp_pad, &SaCounters::decrypt_errors, sa);
    return;
  }
  const std::uint8_t nh = tr->next_header;
  const bool nh_ok = sa.params.mode == channel::Mode::tunnel
                         ? nh == wire::ipproto_ipip
                         : nh == wire::ipproto_udp || nh == wire::ipproto_icmp;
  if (!nh_ok) {
    drop_sa(w, m, Drop::esp_next_header, &SaCounters::decrypt_errors, sa);
    return;
  }
  const unsigned inner_len = before_trailer.size() - pad;

  // Slide Ethernet + IPv4 headers up against the payload, drop the rest.
  const unsigned delta = pd.pkt.esp_off + ct_off - l2l3;
  auto* base = rte_pktmbuf_mtod(m, std::uint8_t*);
  std::memmove(base + delta, base, l2l3);
  rte_pktmbuf_adj(m, static_cast<std::uint16_t>(delta));
  rte_pktmbuf_trim(m, static_cast<std::uint16_t>(rte_pktmbuf_data_len(m) - l2l3 - inner_len));
  auto* ip = rte_pktmbuf_mtod_offset(m, wire::Ipv4Hdr*, sizeof(wire::EthHdr));
  ip->proto = nh;
  ip->total_len = wire::Be16::from_host(static_cast<std::uint16_t>(sizeof(wire::Ipv4Hdr) + inner_len));
  ip->csum = wire::Be16{0};
  ip->csum = wire::Be16::from_host(wire::ipv4_header_csum(reinterpret_cast<const std::uint8_t*>(ip)));
  // RFC 3948 §3.1.2: the peer computed the inner UDP checksum over its own
  // (pre-NAT) address, which we may not know: zero it, as IPv4 allows.
  if (sa.params.encap == channel::Encap::udp && nh == wire::ipproto_udp && inner_len >= sizeof(wire::UdpHdr)) {
    reinterpret_cast<wire::UdpHdr*>(ip + 1)->csum = wire::Be16{0};
  }

  SaCounters& c = w.sa_ctr[sa.slot];
  ++c.packets;
  c.bytes += inner_len;
  sa_account(w, sa, inner_len);
  ++w.ctr.esp_decapped;
  b.out[b.n_out++] = {m, &sa, pd.pkt.peer_port, nh};
}

void finish(Burst& b, IMB_JOB* job) noexcept {
  const Pending& pd = *static_cast<const Pending*>(job->user_data);
  WorkerCtx& w = b.w;
  SaState& sa = *pd.sa;
  if (job->status != IMB_STATUS_COMPLETED) {
    w.drop(pd.pkt.m, Drop::crypto_error);
    return;
  }
  // Checked again at completion: the packet that reached the hard limit may
  // sit in the same burst as the ones behind it.
  if (!sa_usable(sa)) {
    drop_sa(w, pd.pkt.m, Drop::sa_hard_expired, &SaCounters::expired_drops, sa);
    return;
  }
  std::uint8_t* esp = esp_of(pd.pkt);
  if (!crypto::icv_equal(pd.icv, esp + pd.pkt.esp_len - sa.keys.icv_len, sa.keys.icv_len)) {
    drop_sa(w, pd.pkt.m, Drop::esp_auth, &SaCounters::auth_failures, sa);
    return;
  }
  const std::uint32_t seq = reinterpret_cast<const wire::EspHdr*>(esp)->seq.host();
  if (sa.replay.check_and_update(seq) != ReplayWindow::Verdict::ok) {
    drop_sa(w, pd.pkt.m, Drop::esp_replay, &SaCounters::replay_drops, sa);
    return;
  }
  strip(b, pd);
}

}  // namespace

unsigned esp_decap(WorkerCtx& w, const EspPacket* in, unsigned n, Decapped* out) noexcept {
  Burst b{w, out, 0, {}};
  IMB_MGR* mgr = w.mgr.get();
  std::uint32_t last_spi = 0;
  SaState* last_sa = nullptr;
  unsigned k = 0;
  for (unsigned i = 0; i < n; ++i) {
    SaState* sa = admit(w, in[i], last_spi, last_sa);
    if (sa == nullptr) {
      continue;
    }
    Pending& pd = b.pending[k++];
    pd.pkt = in[i];
    pd.sa = sa;
    IMB_JOB* job = IMB_GET_NEXT_JOB(mgr);
    crypto::fill_esp_decrypt_job(job, sa->keys, esp_of(pd.pkt), pd.pkt.esp_len, pd.icv, pd.scratch);
    job->user_data = &pd;
    job = IMB_SUBMIT_JOB(mgr);
    if (job != nullptr) {
      finish(b, job);
    }
  }
  while (IMB_JOB* job = IMB_FLUSH_JOB(mgr)) {
    finish(b, job);
  }
  return b.n_out;
}

}  // namespace l2tpgw
