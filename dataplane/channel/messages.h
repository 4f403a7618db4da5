// The one contract between the planes: fixed-size, versioned messages carried
// on rte_ring element rings inside the shared segment (segment.h).
//
//   control plane ──cmd ring──►  data plane      SA add/delete
//   control plane ──tx ring───►  data plane      packets to send (optionally through an SA)
//   data plane ────event ring─►  control plane   acks, SA lifetime events
//   data plane ────punt ring──►  control plane   packets the fast path does not handle
//
// Packets are copied into the message rather than passed as mbufs: the
// control plane is not a DPDK process, so a crash there can never strand or
// corrupt buffers of the data plane's pools.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "dataplane/crypto/esp_algorithms.h"

namespace l2tpgw::channel {

inline constexpr std::uint16_t version = 7;

enum class MsgType : std::uint16_t {
  sa_add = 1,
  sa_del = 2,
  ack = 3,
  sa_lifetime = 4,
  punt = 5,
  tx = 6,
  session_add = 7,
  session_del = 8,
  session_event = 9,
  session_mppe_reset = 10,
  session_set_sa = 11,
};

struct MsgHeader {
  std::uint16_t version;
  MsgType type;
  std::uint32_t cookie;  // chosen by the sender of a command, echoed in its ack
};

enum class Direction : std::uint8_t { in = 0, out = 1 };

// How ESP is carried: raw IP protocol 50, or in UDP per RFC 3948.
enum class Encap : std::uint8_t { none = 0, udp = 1 };

// What ESP protects (RFC 4301 §4.1): the peer's own packets (transport, as
// L2TP/IPsec uses it), or whole IPv4 packets between the peer's network and
// ours (tunnel).
enum class Mode : std::uint8_t { transport = 0, tunnel = 1 };

// An IPv4 prefix, host order; len 0 covers every address.
struct Prefix {
  std::uint32_t addr;
  std::uint8_t len;
  std::uint8_t reserved[3];
};

inline constexpr std::size_t max_key_len = 36;  // AES-256-GCM key + salt

struct Lifetime {
  std::uint64_t soft_bytes;  // 0: no limit
  std::uint64_t hard_bytes;
  std::uint64_t soft_packets;
  std::uint64_t hard_packets;
};

struct SaParams {
  std::uint32_t spi;
  Direction dir;
  Encap encap;
  EspCipher cipher;
  EspAuth auth;
  std::uint32_t local_addr;  // host order
  std::uint32_t peer_addr;   // host order
  std::uint16_t local_port;  // UDP encapsulation ports, host order
  std::uint16_t peer_port;
  std::uint32_t replay_window;  // inbound: packets, a multiple of 64
  std::uint8_t cipher_key_len;
  std::uint8_t auth_key_len;
  Mode mode;
  std::uint8_t reserved;
  std::uint8_t cipher_key[max_key_len];
  std::uint8_t auth_key[32];
  Lifetime lifetime;
  // Tunnel mode only: the inner addresses the SA carries, as the Quick
  // Mode's IDs agreed them. Inbound, an inner packet must come from
  // peer_net and go to local_net; outbound, packets from the inside to
  // peer_net take the newest such SA.
  Prefix peer_net;
  Prefix local_net;
};

struct SaAdd {
  MsgHeader hdr;
  SaParams sa;
};

// An L2TP session with its PPP link, as the data plane carries it:
//   outside: ESP(sa_in_spi) → UDP(peer_port → local_port) → L2TP(local ids)
//            → PPP → IPv4 from inner_addr (IPv6 from ipv6_prefix) → inside port
//   inside:  IPv4 to inner_addr (IPv6 to ipv6_prefix) → PPP → L2TP(peer ids)
//            → UDP → ESP(sa_out_spi)
// Identified by our (local) tunnel and session ids; a SessionAdd with the
// same pair replaces the session.
struct SessionParams {
  std::uint16_t local_tunnel_id;   // ids the peer puts in what it sends us
  std::uint16_t local_session_id;
  std::uint16_t peer_tunnel_id;    // ids we put in what we send
  std::uint16_t peer_session_id;
  std::uint32_t peer_addr;         // the client's outer address, host order
  std::uint16_t peer_port;         // its L2TP UDP port (1701, or another: macOS, iOS)
  std::uint16_t local_port;        // ours, 1701
  std::uint32_t sa_in_spi;         // the inbound SA its traffic must arrive in
  std::uint32_t sa_out_spi;        // the outbound SA (with peer_addr) we send through
  std::uint32_t inner_addr;        // the address the client was given, host order
  std::uint8_t ppp_acfc;           // send without FF 03 (RFC 1661 §6.6)
  std::uint8_t ppp_pfc;            // send 1-byte protocol fields (RFC 1661 §6.5)
  std::uint8_t l2tp_sequencing;    // send Ns/Nr on data messages (RFC 2661 §5.8)
  // MPPE (RFC 3078) negotiated by CCP: 0 none, else 40, 56 or 128 bits. With
  // MPPE, unencrypted IPv4 from the client is refused.
  std::uint8_t mppe_bits;
  std::uint8_t mppe_stateless;     // key change every packet (RFC 3078 §7.1)
  // IPv6 (PPP protocol 0x0057) once IPV6CP is up (RFC 5072): 0 off. The
  // client then owns the /64 ipv6_prefix (assigned by RA or DHCPv6, RFC
  // 4291 §2.5.4): its global sources must lie in it and the inside path
  // finds the session by a destination in it.
  std::uint8_t ipv6;
  std::uint8_t reserved[2];
  // Start keys per RFC 3079 §3.3 as the server sees them (what RADIUS sends
  // as MS-MPPE-Send-Key / MS-MPPE-Recv-Key): send = ours, recv = the client's.
  std::uint8_t mppe_send_key[16];
  std::uint8_t mppe_recv_key[16];
  std::uint8_t ipv6_prefix[8];     // the client's /64, network order
  // The interface identifier IPV6CP gave the client (RFC 5072 §4.1): its
  // link-local address is fe80::<ipv6_ifid>. Link-local traffic goes to
  // the control plane (router solicitations).
  std::uint8_t ipv6_ifid[8];
};

struct SessionAdd {
  MsgHeader hdr;
  SessionParams session;
};

struct SessionDel {
  MsgHeader hdr;
  std::uint16_t local_tunnel_id;
  std::uint16_t local_session_id;
};
// The client's CCP Reset-Request (RFC 3078 §8.2): the session's next MPPE
// frame to the client changes key and carries the A bit. Same layout as
// SessionDel.
using SessionMppeReset = SessionDel;

// A session moves to another SA pair of the same peer (an IKE rekey). Its
// MPPE state, counters and slot stay: a session_add would restart them.
struct SessionSetSa {
  MsgHeader hdr;
  std::uint16_t local_tunnel_id;
  std::uint16_t local_session_id;
  std::uint32_t sa_in_spi;
  std::uint32_t sa_out_spi;
};

enum class SessionEventKind : std::uint8_t {
  // Stateful MPPE lost packets: the control plane must send a CCP
  // Reset-Request (RFC 3078 §8.2, RFC 1962 §2.2).
  mppe_reset_request = 1,
};

struct SessionEvent {
  MsgHeader hdr;
  SessionEventKind kind;
  std::uint8_t reserved;
  std::uint16_t local_tunnel_id;
  std::uint16_t local_session_id;
  std::uint16_t coherency_count;  // the count of the packet that showed the gap
};

// Identifies an SA by direction, SPI and peer; an SA with the same triple is
// replaced by SaAdd.
struct SaDel {
  MsgHeader hdr;
  Direction dir;
  std::uint8_t reserved[3];
  std::uint32_t spi;
  std::uint32_t peer_addr;
};

enum class AckResult : std::uint16_t {
  ok = 0,
  replaced = 1,
  not_found = 2,
  table_full = 3,
  bad_params = 4,
  bad_message = 5,
};

struct Ack {
  MsgHeader hdr;
  AckResult result;
  std::uint16_t reserved;
  std::uint32_t slot;
};

// The data plane's answer to a command; the cookie is the command's.
constexpr Ack make_ack(AckResult r, std::uint32_t slot = 0) noexcept {
  Ack a{};
  a.hdr.version = version;
  a.hdr.type = MsgType::ack;
  a.result = r;
  a.slot = slot;
  return a;
}

enum class LifetimeKind : std::uint8_t { soft_bytes, hard_bytes, soft_packets, hard_packets };

struct SaLifetimeEvent {
  MsgHeader hdr;
  Direction dir;
  LifetimeKind kind;
  std::uint16_t reserved;
  std::uint32_t spi;
  std::uint32_t peer_addr;
  std::uint32_t slot;
  std::uint64_t bytes;
  std::uint64_t packets;
};

// Every control message fits one element of the cmd and event rings.
inline constexpr std::size_t ctrl_elem_size = 192;

union CtrlMsg {
  MsgHeader hdr;
  SaAdd sa_add;
  SaDel sa_del;
  Ack ack;
  SaLifetimeEvent lifetime;
  SessionAdd session_add;
  SessionDel session_del;
  SessionMppeReset session_mppe_reset;
  SessionSetSa session_set_sa;
  SessionEvent session_event;
  std::uint8_t bytes[ctrl_elem_size];
};

// The commands, as the control plane sends them (version and cookie are
// filled in by the sender).
inline CtrlMsg make_sa_add(const SaParams& sa) noexcept {
  CtrlMsg m{};
  m.sa_add.hdr.type = MsgType::sa_add;
  m.sa_add.sa = sa;
  return m;
}
inline CtrlMsg make_sa_del(Direction dir, std::uint32_t spi, std::uint32_t peer_addr) noexcept {
  CtrlMsg m{};
  m.sa_del.hdr.type = MsgType::sa_del;
  m.sa_del.dir = dir;
  m.sa_del.spi = spi;
  m.sa_del.peer_addr = peer_addr;
  return m;
}
inline CtrlMsg make_session_add(const SessionParams& s) noexcept {
  CtrlMsg m{};
  m.session_add.hdr.type = MsgType::session_add;
  m.session_add.session = s;
  return m;
}
// session_del and session_mppe_reset name a session by our ids alike.
inline CtrlMsg make_session_ref(MsgType type, std::uint16_t tunnel_id, std::uint16_t session_id) noexcept {
  CtrlMsg m{};
  m.session_del.hdr.type = type;
  m.session_del.local_tunnel_id = tunnel_id;
  m.session_del.local_session_id = session_id;
  return m;
}

inline CtrlMsg make_session_set_sa(std::uint16_t tunnel_id, std::uint16_t session_id,
                                   std::uint32_t sa_in_spi, std::uint32_t sa_out_spi) noexcept {
  CtrlMsg m{};
  m.session_set_sa.hdr.type = MsgType::session_set_sa;
  m.session_set_sa.local_tunnel_id = tunnel_id;
  m.session_set_sa.local_session_id = session_id;
  m.session_set_sa.sa_in_spi = sa_in_spi;
  m.session_set_sa.sa_out_spi = sa_out_spi;
  return m;
}

// Why the fast path handed a packet to the control plane.
enum class PuntReason : std::uint8_t {
  ike = 1,        // UDP 500, or UDP 4500 with the non-ESP marker (RFC 3948 §2.2)
  l2tp = 2,       // UDP 1701 after ESP decapsulation: L2TP control (T bit)
  ppp = 3,        // a PPP control protocol (LCP, auth, IPCP, CCP...) of a session
};

inline constexpr std::size_t max_packet = 2048;
inline constexpr std::uint32_t no_sa = 0xffffffffu;

// A punted packet: the whole IPv4 packet (after ESP decapsulation when it
// arrived in an SA; the marker of IKE-on-4500 left in place).
struct PuntMsg {
  MsgHeader hdr;
  PuntReason reason;
  std::uint8_t port;
  std::uint16_t len;
  std::uint32_t sa_slot;  // inbound SA it arrived in, or no_sa
  std::uint32_t sa_spi;
  std::uint32_t peer_addr;   // outer source, host order
  std::uint16_t peer_port;   // outer UDP source port (0 for raw ESP)
  Encap encap;
  std::uint8_t reserved;
  std::uint64_t tsc;
  std::uint8_t data[max_packet];
};

// A packet for the data plane to send out of the outside port: a whole IPv4
// packet from the gateway's own address. With an SPI it is protected by the
// outbound SA of that SPI and peer (ESP transport mode) first.
struct TxMsg {
  MsgHeader hdr;
  std::uint8_t port;
  std::uint8_t via_sa;  // 1: protect with the outbound SA (sa_spi, peer_addr)
  std::uint16_t len;
  std::uint32_t sa_spi;
  std::uint32_t peer_addr;
  std::uint32_t reserved;
  std::uint8_t data[max_packet];
  std::uint8_t pad[16];  // to the size of PuntMsg: one ring element each
};

// The packet rings copy whole elements: both packet messages must be
// exactly this size, or arrays of them would be misread.
inline constexpr std::size_t packet_elem_size = sizeof(PuntMsg);

static_assert(sizeof(CtrlMsg) == ctrl_elem_size);
static_assert(sizeof(TxMsg) == packet_elem_size);
static_assert(packet_elem_size % 8 == 0 && ctrl_elem_size % 8 == 0);
static_assert(std::is_trivially_copyable_v<CtrlMsg>);
static_assert(std::is_trivially_copyable_v<PuntMsg>);
static_assert(std::is_trivially_copyable_v<TxMsg>);

}  // namespace l2tpgw::channel
