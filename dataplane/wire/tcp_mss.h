// TCP MSS clamping as a pure function over an IPv4 packet. The gateway
// lowers the MSS that each end of a session announces in its SYN (RFC 9293
// §3.7.1), so that inner TCP segments fit the tunnel's path MTU and never
// need fragmentation.
#pragma once

#include <cstdint>
#include <span>

namespace l2tpgw::wire {

enum class MssResult : std::uint8_t {
  not_syn,    // not TCP, a non-first fragment, or a segment without SYN
  no_option,  // a SYN without an MSS option: the peer assumes 536 (RFC 9293 §3.7.1)
  unchanged,  // every MSS option already at or below the limit
  clamped,    // at least one MSS option lowered, the TCP checksum updated
  malformed,  // TCP header or options not well-formed; nothing written
};

// ipv4_packet: a whole IPv4 packet whose header has been validated (IHL may
// include options; the span ends at total length). A SYN or SYN-ACK whose MSS
// option exceeds max_mss gets max_mss, and its TCP checksum is updated
// incrementally (RFC 1624), so the payload is never read. The options are
// checked in full before anything is written: on `malformed` the bytes are
// as they came.
MssResult clamp_tcp_mss(std::span<std::uint8_t> ipv4_packet, std::uint16_t max_mss) noexcept;

// The same for an IPv6 packet (40-byte header; the span ends at its payload
// length) whose next header is TCP.
MssResult clamp_tcp_mss6(std::span<std::uint8_t> ipv6_packet, std::uint16_t max_mss) noexcept;

}  // namespace l2tpgw::wire
