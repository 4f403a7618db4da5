// ESP outbound, transport mode (RFC 4303 §3.3), raw or UDP-encapsulated
// (RFC 3948 §2.1), for a burst: sequence number, IV, padding and trailer,
// then encryption and ICV through IPsec-MB with the whole burst in flight.
#pragma once

#include "dataplane/core/runtime.h"

namespace l2tpgw {

struct EncapItem {
  rte_mbuf* m;  // room for Ethernet + 20-byte IPv4 header + payload, trimmed
  SaState* sa;  // outbound SA toward the packet's destination
};

// Returns how many packets in `out` are ready for ip_output; every other
// packet was dropped under its reason.
unsigned esp_encap(WorkerCtx& w, const EncapItem* in, unsigned n, rte_mbuf** out) noexcept;

// Packets gathered for one esp_encap call and sent out of `port` once
// protected. A stage that makes several packets of one (fragmentation)
// adds them one by one; a full batch is sent before the next is taken.
class EncapBatch {
 public:
  explicit EncapBatch(const PortInfo& port) noexcept : _port(port) {}
  void add(WorkerCtx& w, rte_mbuf* m, SaState* sa) noexcept {
    if (_n == burst_size) [[unlikely]] {
      flush(w);
    }
    _items[_n++] = {m, sa};
  }
  // esp_encap, then ip_output of every packet it returns.
  void flush(WorkerCtx& w) noexcept;

 private:
  const PortInfo& _port;
  EncapItem _items[burst_size];
  unsigned _n = 0;
};

}  // namespace l2tpgw
