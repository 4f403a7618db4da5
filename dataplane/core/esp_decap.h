// ESP inbound (RFC 4303 §3.4), raw or UDP-encapsulated (RFC 3948 §3.1.2),
// for a burst: SA by SPI, peer check, anti-replay, ICV and decryption
// through IPsec-MB with the whole burst in flight, then padding and next
// header checks and removal of the ESP framing. What is left is the outer
// IPv4 header with the next header as its protocol: over UDP or ICMP in
// transport mode, over the inner IPv4 packet (4) in tunnel mode.
#pragma once

#include "dataplane/core/runtime.h"

namespace l2tpgw {

struct EspPacket {
  rte_mbuf* m;              // Ethernet + 20-byte IPv4 header (+ UDP) + ESP
  std::uint16_t esp_off;    // offset of the SPI from the frame's start
  std::uint16_t esp_len;    // SPI to the end of the ICV
  std::uint16_t peer_port;  // outer UDP source port; 0 for raw ESP
};

struct Decapped {
  rte_mbuf* m;  // Ethernet + IPv4 header (protocol = next header) + payload
  SaState* sa;
  std::uint16_t peer_port;  // outer UDP source port; 0 for raw ESP
  std::uint8_t next_header;
};

// Returns how many packets were decapsulated into out; every other packet
// was dropped under its reason.
unsigned esp_decap(WorkerCtx& w, const EspPacket* in, unsigned n, Decapped* out) noexcept;

}  // namespace l2tpgw
