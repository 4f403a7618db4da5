// How large an inner packet a session can carry in one outside frame.
//
//   outside MTU ─ outer IPv4 20 ─ [UDP 8, NAT-T] ─ ESP header 8 ─ IV
//     ─ ICV, then the rest rounded down to the cipher's block (RFC 4303
//     §2.4: payload, padding and the 2-byte trailer fill whole blocks; 4-byte
//     words for GCM) less the trailer: the largest ESP payload.
//   ESP payload ─ UDP 8 ─ L2TP header ─ PPP header ─ [MPPE header and
//     encrypted protocol field]: the tunnel MTU.
//
// The first part belongs to the outbound SA and is computed when the SA is
// installed; the second to the session, computed when the session is. The
// fast path subtracts one from the other: a rekey that changes the transform
// changes the MTU of every session on the SA without touching the sessions.
#pragma once

#include <cstdint>

#include "dataplane/crypto/esp_algorithms.h"

namespace l2tpgw::wire {

inline constexpr unsigned outer_ipv4_len = 20;
inline constexpr unsigned udp_len = 8;
inline constexpr unsigned esp_hdr_len = 8;   // SPI + sequence number
inline constexpr unsigned esp_trailer_len = 2;  // pad length + next header

// The largest transport-mode ESP payload (what follows the outer IPv4
// header before encryption) whose ESP packet fits link_mtu; 0 if none does.
constexpr unsigned esp_max_payload(unsigned link_mtu, EspCipher c, EspAuth a, bool udp_encap) noexcept {
  const EspCipherInfo ci = info(c);
  const unsigned fixed = outer_ipv4_len + (udp_encap ? udp_len : 0) + esp_hdr_len + ci.iv_len + icv_len(c, a);
  const unsigned block = ci.block_len;
  if (link_mtu < fixed + block) {
    return 0;
  }
  return (link_mtu - fixed) / block * block - esp_trailer_len;
}

// What a session puts between the ESP payload and the inner packet: UDP,
// then the L2TP, PPP and MPPE headers as it sends them.
constexpr unsigned session_overhead(unsigned l2tp_hdr_len, unsigned ppp_hdr_len, unsigned mppe_hdr_len) noexcept {
  return udp_len + l2tp_hdr_len + ppp_hdr_len + mppe_hdr_len;
}

constexpr unsigned tunnel_mtu(unsigned esp_payload, unsigned overhead) noexcept {
  return esp_payload > overhead ? esp_payload - overhead : 0;
}

}  // namespace l2tpgw::wire
