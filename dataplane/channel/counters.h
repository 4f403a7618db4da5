// Every counter the data plane keeps, as the operator reads them. Drop
// reasons are one X-macro list that makes the enum, the names and the
// descriptions, so a reason cannot exist without its counter and its text.
#pragma once

#include <cstdint>
#include <string_view>

namespace l2tpgw {

// X(name, description)
#define L2TPGW_DROP_REASONS(X)                                                      \
  X(runt, "frame shorter than its headers")                                        \
  X(multi_segment, "frame spread over several mbufs (larger than one buffer)")     \
  X(not_for_us, "destination MAC or IPv4 address is not ours")                     \
  X(unknown_ethertype, "ethertype other than IPv4, ARP (or IPv6 inside)")                          \
  X(arp_malformed, "ARP packet that is not Ethernet/IPv4")                         \
  X(arp_ignored, "ARP request for an address that is not ours")                    \
  X(ip_version, "IPv4 header with a version other than 4")                         \
  X(ip_header_len, "IPv4 header length below 20 bytes or beyond the packet")       \
  X(ip_total_len, "IPv4 total length beyond the frame or below the header")        \
  X(ip_checksum, "IPv4 header checksum wrong")                                     \
  X(ip_ttl, "IPv4 TTL of zero")                                                    \
  X(ip_options, "IPv4 options present (not accepted on ESP traffic)")              \
  X(ip_fragment, "IPv4 fragment given up by reassembly (overlap, timeout, full)")  \
  X(reassembly_too_big, "reassembled IPv4 datagram larger than 2000 bytes")        \
  X(ip_proto, "IPv4 protocol not handled by the gateway")                          \
  X(udp_malformed, "UDP length field inconsistent with the IPv4 packet")           \
  X(udp_port, "UDP to a port the gateway does not serve")                          \
  X(icmp_malformed, "ICMP shorter than its header or with a bad checksum")         \
  X(icmp_type, "ICMP other than echo request to our address")                      \
  X(nat_keepalive, "NAT-T keepalive (RFC 3948 §2.3), counted and dropped")         \
  X(esp_truncated, "ESP shorter than header, IV, one block and ICV")               \
  X(esp_unknown_spi, "ESP with an SPI of no inbound SA")                           \
  X(esp_wrong_peer, "ESP from an address or port other than the SA's peer")        \
  X(esp_replay, "ESP sequence number replayed or left of the window")              \
  X(esp_auth, "ESP integrity check (ICV) failed")                                  \
  X(esp_block_len, "ESP ciphertext not a multiple of the cipher block")            \
  X(esp_pad, "ESP padding or pad length wrong after decryption")                   \
  X(esp_next_header, "ESP next header other than UDP or ICMP (transport mode) or IPv4 (tunnel)") \
  X(esp_tunnel_malformed, "tunnel-mode inner IPv4 packet malformed (header, length)") \
  X(esp_tunnel_selector, "tunnel-mode inner addresses outside the SA's prefixes (RFC 4301 §5.2)") \
  X(esp_tunnel_ttl, "tunnel-mode inner IPv4 TTL expired on forwarding") \
  X(esp_inner_malformed, "decrypted payload is not a well-formed UDP/ICMP packet")  \
  X(esp_inner_unhandled, "decrypted packet to a port or type we do not serve")     \
  X(sa_hard_expired, "SA beyond its hard byte or packet lifetime")                 \
  X(crypto_error, "IPsec-MB returned an error for the job")                        \
  X(no_outbound_sa, "no outbound SA for the destination or named SPI")             \
  X(encap_too_big, "packet would exceed the mbuf after ESP encapsulation")         \
  X(l2tp_malformed, "L2TP header malformed or of another version")                 \
  X(l2tp_unknown_session, "L2TP data for a tunnel/session id pair we do not have")  \
  X(l2tp_wrong_sa, "L2TP session id arriving in another peer's SA or port")        \
  X(ppp_malformed, "PPP frame truncated or with a bad protocol field")             \
  X(ppp_protocol, "PPP protocol the session has not negotiated (IPv6, MPPE)")      \
  X(ppp_unencrypted, "unencrypted IPv4 on a session that negotiated MPPE")         \
  X(mppe_too_short, "MPPE frame shorter than its header and one byte")             \
  X(mppe_not_encrypted, "MPPE frame with the D bit clear (RFC 3078 §3)")           \
  X(mppe_compressed, "MPPE frame with the C bit: MPPC was not negotiated")         \
  X(mppe_not_flushed, "MPPE frame without the A bit where it is required")         \
  X(mppe_stale_count, "MPPE coherency count late or repeated (stateless)")         \
  X(mppe_coherency_gap, "MPPE frames lost: CCP Reset-Request asked (stateful)")    \
  X(mppe_awaiting_flush, "MPPE frame discarded until the peer flushes (stateful)") \
  X(inner_malformed, "inner IPv4 packet of a session malformed")                   \
  X(inner_spoofed, "inner IPv4 source other than the session's address")           \
  X(inner_ttl, "inner IPv4 TTL expired on forwarding")                             \
  X(no_session, "inside packet to an address of no session")                       \
  X(inner6_malformed, "inner IPv6 packet of a session malformed (version, payload length)") \
  X(inner6_spoofed, "inner IPv6 source outside the session's /64")                 \
  X(inner6_scope, "inner IPv6 link-local source or multicast destination: not routed") \
  X(inner6_hop_limit, "inner IPv6 hop limit expired on forwarding")                \
  X(ip6_malformed, "IPv6 packet on the inside port malformed, or IPv6 not configured") \
  X(icmp6_unhandled, "ICMPv6 to our inside address other than echo request and NS/NA") \
  X(nd_malformed, "Neighbor Solicitation/Advertisement failing RFC 4861 §7.1 checks") \
  X(nd_consumed, "Neighbor Advertisement learnt, or solicitation for another address") \
  X(nd_unresolved, "IPv6 next hop's MAC not known yet (Neighbor Solicitation sent)") \
  X(inner_too_big, "inner packet above the tunnel MTU: policy drop, or no ICMP allowed") \
  X(icmp_rate, "ICMP error not sent: above dataplane.icmp_rate")                   \
  X(session_no_sa, "session's outbound SA not installed")                          \
  X(arp_unresolved, "next hop MAC not known yet (ARP request sent)")               \
  X(no_route, "no port on the destination's subnet and no gateway")                \
  X(punt_rate, "punt to the control plane above the configured rate")              \
  X(punt_ring_full, "punt ring to the control plane full")                         \
  X(punt_too_big, "packet to punt larger than a punt message")                     \
  X(tx_malformed, "packet from the control plane is not a valid IPv4 packet")      \
  X(tx_full, "port transmit queue full")                                           \
  X(mbuf_alloc, "mbuf pool empty")

enum class Drop : std::uint16_t {
#define L2TPGW_DROP_ENUM(name, desc) name,
  L2TPGW_DROP_REASONS(L2TPGW_DROP_ENUM)
#undef L2TPGW_DROP_ENUM
      count_
};

inline constexpr unsigned n_drop_reasons = static_cast<unsigned>(Drop::count_);

struct DropInfo {
  std::string_view name;
  std::string_view description;
};

inline constexpr DropInfo drop_info[n_drop_reasons] = {
#define L2TPGW_DROP_INFO(name, desc) {#name, desc},
    L2TPGW_DROP_REASONS(L2TPGW_DROP_INFO)
#undef L2TPGW_DROP_INFO
};

// Per SA and per worker; only that worker writes it.
struct alignas(64) SaCounters {
  std::uint64_t packets;
  std::uint64_t bytes;  // ESP payload bytes (before encryption / after decryption)
  std::uint64_t auth_failures;
  std::uint64_t replay_drops;
  std::uint64_t decrypt_errors;  // truncation, block length, padding, next header
  std::uint64_t expired_drops;
  std::uint64_t reserved[2];
};
static_assert(sizeof(SaCounters) == 64);

// Per worker; only that worker writes it.
struct alignas(64) WorkerCounters {
  std::uint64_t loops;
  std::uint64_t busy_loops;   // loops that found work
  std::uint64_t busy_cycles;  // TSC cycles spent in loops that found work
  std::uint64_t rx_packets;
  std::uint64_t tx_packets;
  std::uint64_t punted;
  std::uint64_t esp_decapped;
  std::uint64_t esp_encapped;
  std::uint64_t arp_replies;
  std::uint64_t icmp_replies;
  std::uint64_t icmp_too_big_sent;  // ICMP fragmentation needed / ICMPv6 packet too big
  std::uint64_t inner_fragmented;   // inner packets cut to the tunnel MTU
  std::uint64_t inner_fragments;    // the fragments they became
  std::uint64_t nd_advertisements;  // Neighbor Advertisements sent for our addresses
  std::uint64_t tunnel_in;          // tunnel-mode inner packets forwarded to the inside
  std::uint64_t tunnel_out;         // inside packets routed into a tunnel-mode SA
  std::uint64_t drops[n_drop_reasons];
};

// Per session and per worker; only that worker writes it.
struct alignas(64) SessionCounters {
  std::uint64_t rx_packets;  // from the client, forwarded inside
  std::uint64_t rx_bytes;    // inner IPv4 bytes
  std::uint64_t tx_packets;  // to the client
  std::uint64_t tx_bytes;
  std::uint64_t spoofed;     // inner source not the session's address
  std::uint64_t punted;      // PPP control frames to the control plane
  std::uint64_t other_drops;
  std::uint64_t reserved;
};
static_assert(sizeof(SessionCounters) == 64);

// Per port, copied from rte_eth_stats by the data plane's main thread.
struct alignas(64) PortCounters {
  std::uint64_t ipackets;
  std::uint64_t opackets;
  std::uint64_t ibytes;
  std::uint64_t obytes;
  std::uint64_t imissed;
  std::uint64_t ierrors;
  std::uint64_t oerrors;
  std::uint64_t rx_nombuf;
};

}  // namespace l2tpgw
