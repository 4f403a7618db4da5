// A packet from the inside to a session's address, wrapped for the client:
// PPP (as negotiated: ACFC, PFC), L2TP data header with the client's ids
// (and Ns when the session sequences), UDP to the client's L2TP port, outer
// IPv4 from our outside address — ready for esp_encap with the session's
// outbound SA.
//
// A packet larger than the session's tunnel MTU (the SA's max_payload less
// the session's overhead, wire/tunnel_mtu.h) is answered with ICMP
// "fragmentation needed" when it has DF (RFC 1191) and otherwise handled by
// dataplane.inner_too_big: cut into fragments that each take the same path
// (RFC 791 §3.2), answered with ICMP all the same, or dropped.
#pragma once

#include "dataplane/core/esp_encap.h"
#include "dataplane/core/runtime.h"
#include "dataplane/core/session_table.h"

namespace l2tpgw {

// m: Ethernet + the inner IPv4 packet (trimmed, header without options).
// What is to be protected goes into `batch` with the session's SA; m is
// consumed in every case.
void l2tp_encap(WorkerCtx& w, SessionState& s, rte_mbuf* m, EncapBatch& batch) noexcept;

// The same for an IPv6 packet (PPP protocol 0x0057) to a session's /64,
// checked and trimmed. Too big: ICMPv6 Packet Too Big, never fragments
// (RFC 8200 §5). SYNs clamped to the tunnel MTU less 60, or
// dataplane.tcp_mss if lower.
void l2tp_encap6(WorkerCtx& w, SessionState& s, rte_mbuf* m, EncapBatch& batch) noexcept;

}  // namespace l2tpgw
