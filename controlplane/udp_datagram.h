// The control plane's protocols (IKE, L2TP control, PPP) all travel as UDP
// datagrams to or from the gateway's own address: punted packets arrive as
// whole IPv4 packets, and replies leave as whole IPv4 packets on the tx ring.
// This turns one into the other; pure functions over bytes.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace l2tpgw::cp {

struct UdpEndpoints {
  std::uint32_t src_addr = 0;  // host order
  std::uint32_t dst_addr = 0;
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
};

enum class UdpDatagramError : std::uint8_t {
  none,
  ipv4_malformed,  // fails the IPv4 header checks
  fragment,        // the data plane reassembles; a fragment here is a bug upstream
  not_udp,
  udp_truncated,   // UDP header or its length beyond the IPv4 payload
  udp_checksum,    // non-zero checksum that does not verify
};

struct UdpDatagram {
  UdpDatagramError error = UdpDatagramError::none;
  UdpEndpoints ends;
  std::span<const std::uint8_t> payload;

  bool ok() const noexcept { return error == UdpDatagramError::none; }
};

// The UDP payload of a whole IPv4 packet (trailing link padding ignored).
UdpDatagram parse_udp_datagram(std::span<const std::uint8_t> ipv4) noexcept;

// A whole IPv4 packet (DF set, TTL 64, UDP checksum computed) carrying payload.
std::vector<std::uint8_t> build_udp_datagram(const UdpEndpoints& ends,
                                             std::span<const std::uint8_t> payload);

std::string_view describe(UdpDatagramError e) noexcept;

}  // namespace l2tpgw::cp
