#include "dataplane/core/inside.h"

#include <rte_prefetch.h>

#include "dataplane/core/esp_encap.h"
#include "dataplane/core/ip_input.h"
#include "dataplane/core/ip_output.h"
#include "dataplane/core/l2tp_encap.h"

namespace l2tpgw {
namespace {

constexpr unsigned prefetch_ahead = 4;  // as on the outside

}  // namespace

void inside_input(WorkerCtx& w, const PortInfo& port, rte_mbuf** pkts, unsigned n) noexcept {
  const PortInfo& outside = w.rt.outside_port();
  EncapItem enc[burst_size];
  unsigned n_enc = 0;
  SaState* last_sa = nullptr;
  std::uint32_t last_dst = 0;
  for (unsigned i = 0; i < n; ++i) {
    if (i + prefetch_ahead < n) {
      rte_prefetch0(rte_pktmbuf_mtod(pkts[i + prefetch_ahead], void*));
    }
    rte_mbuf* m = pkts[i];
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
      if (l2tp_encap(w, *s, m, enc[n_enc])) {
        ++n_enc;
      }
      continue;
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
    enc[n_enc++] = {m, sa};
  }
  rte_mbuf* out[burst_size];
  const unsigned n_out = esp_encap(w, enc, n_enc, out);
  for (unsigned i = 0; i < n_out; ++i) {
    ip_output(w, outside, out[i]);
  }
}

}  // namespace l2tpgw
