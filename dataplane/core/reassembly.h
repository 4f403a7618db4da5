// Outer IPv4 fragments addressed to the gateway (RFC 791 §3.2): clients
// fragment ESP packets when a full-size inner packet plus ESP, L2TP and PPP
// overhead exceeds their path MTU. Reassembled per worker with rte_ip_frag,
// within fixed limits of flows and time, then flattened into one mbuf,
// because every later stage works on single-segment frames.
#pragma once

#include <rte_ip_frag.h>

#include "dataplane/core/runtime.h"

namespace l2tpgw {

class Reassembly {
 public:
  Reassembly(std::uint64_t tsc_hz, int socket);
  ~Reassembly();
  Reassembly(const Reassembly&) = delete;
  Reassembly& operator=(const Reassembly&) = delete;

  // m: Ethernet + a fragment (trimmed) addressed to us. Returns the whole
  // datagram as one single-segment frame with a correct header, or nullptr
  // when the fragment was kept for later or dropped.
  rte_mbuf* add(WorkerCtx& w, rte_mbuf* m, wire::Ipv4Hdr* ip) noexcept;

  // Expires flows older than the timeout and frees what reassembly gave up
  // on (overlaps, timeouts, evictions), counted as ip_fragment; once per loop.
  void free_dropped(WorkerCtx& w) noexcept;

 private:
  rte_ip_frag_tbl* _tbl;
  rte_ip_frag_death_row _dead{};
};

}  // namespace l2tpgw
