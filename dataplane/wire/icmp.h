// ICMP echo (RFC 792) turned into its reply in place, as a pure function over
// a validated IPv4 packet without options.
#pragma once

#include <cstdint>
#include <span>

namespace l2tpgw::wire {

enum class EchoResult : std::uint8_t { reply, malformed, not_echo_request };

// ip: the IPv4 packet (20-byte header, total length == ip.size()). On reply
// the addresses are swapped, TTL set to 64, type set to 0, and both
// checksums are made right.
EchoResult icmp_echo_reply_in_place(std::span<std::uint8_t> ip) noexcept;

}  // namespace l2tpgw::wire
