// Settings of the LNS engine, and the random source it draws challenges,
// Random Vectors and initial identifiers from.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "controlplane/l2tp/reliable.h"
#include "dataplane/wire/ipv4.h"

namespace l2tpgw::l2tp {

// A source prefix from which plain L2TP (no IPsec) is accepted.
struct PlainPrefix {
  std::uint32_t addr = 0;  // host order
  std::uint8_t len = 32;

  bool contains(std::uint32_t a) const noexcept {
    return wire::in_prefix(a, addr, len);
  }
};

struct LnsLimits {
  std::size_t max_tunnels = 16384;
  std::size_t max_tunnels_per_peer = 64;  // a LAC opens a few; a client one
  std::size_t max_sessions_per_tunnel = 65535;
  std::size_t max_sessions = 262144;
};

struct LnsConfig {
  std::string host_name = "l2tpgw";  // §4.4.3 Host Name of our SCCRP
  std::string vendor_name = "l2tpgw";
  std::uint16_t firmware_revision = 0x0001;
  // §5.1.1 tunnel authentication and §4.3 hiding; empty: neither.
  std::vector<std::uint8_t> secret;
  // Plain L2TP (no inbound SA) is taken only from these sources.
  std::vector<PlainPrefix> plain_allowed;
  ReliableConfig reliable;
  // §6.5: a HELLO after this long without a message from the peer; its
  // retransmissions running out is how a dead peer is found.
  Duration hello_interval{60000};
  // §5.7: after the peer's StopCCN the tunnel stays to acknowledge
  // retransmissions of it for a full retransmission cycle (1+2+4+8+8+8 s).
  Duration stop_hold{31000};
  // An ICRP unanswered by an ICCN this long frees its session: a LAC that
  // lost the call without a CDN would otherwise hold the slot forever.
  Duration session_setup_timeout{60000};
  LnsLimits limits;
};

// Fills the span with unpredictable bytes.
using RandomSource = std::function<void(std::span<std::uint8_t>)>;

// OpenSSL's RAND_bytes.
RandomSource system_random();

}  // namespace l2tpgw::l2tp
