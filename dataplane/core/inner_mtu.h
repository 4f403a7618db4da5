// An inner IPv4 packet larger than the MTU of the tunnel it is to enter
// (an L2TP session's, or a tunnel-mode SA's): ICMP "fragmentation needed"
// back to its source when it has DF (RFC 1191) or dataplane.inner_too_big
// says so, a drop, or fragments that each take the tunnel (RFC 791 §3.2).
// The callers own the counters of what they drop.
#pragma once

#include <cstdint>

#include "dataplane/core/runtime.h"

namespace l2tpgw {

// The most fragments one inner packet is cut into: a packet fills at most
// one mbuf (2 KB), and the smallest tunnel MTU (outside MTU 576) carries 448
// bytes of it per fragment.
inline constexpr unsigned max_inner_fragments = 8;

enum class TooBig : std::uint8_t { send_icmp, drop, fragment };

// ip: the inner header, whose DF bit and the configured policy decide.
TooBig too_big_action(const WorkerCtx& w, const wire::Ipv4Hdr& ip) noexcept;

// m: Ethernet room + the inner packet of inner_len bytes. Sends ICMP
// "fragmentation needed" with mtu from our inside address out of the inside
// port and returns true; false when it may not (another ICMP error, the
// rate, no inside port), m then left to the caller with `why` set.
bool send_frag_needed(WorkerCtx& w, rte_mbuf* m, unsigned inner_len, unsigned mtu, Drop& why) noexcept;

// Cuts m into fragments of at most mtu bytes of IPv4: frags[0] is m, the
// others come from the pool, each with Ethernet room in front. Returns how
// many; 0 when it cannot, m then left to the caller with `why` set.
unsigned cut_fragments(WorkerCtx& w, rte_mbuf* m, unsigned inner_len, unsigned mtu, rte_mbuf** frags,
                       Drop& why) noexcept;

}  // namespace l2tpgw
