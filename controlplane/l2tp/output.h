// What the LNS engine hands back to the process that drives it: packets to
// send, events for the session tables and the PPP layer, and one-line log
// records that name the cause of every refusal and teardown.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "controlplane/l2tp/avp_values.h"
#include "controlplane/log.h"

namespace l2tpgw::l2tp {

// A peer as the data plane saw it. spi names the inbound ESP SA the packet
// came through; nullopt for plain L2TP (UDP 1701 without IPsec).
struct Endpoint {
  std::uint32_t addr = 0;  // IPv4, host order
  std::uint16_t port = 0;
  std::optional<std::uint32_t> spi;

  bool operator==(const Endpoint&) const = default;
};

// "10.1.2.3:1701"
std::string format_endpoint(const Endpoint& e);

struct OutPacket {
  Endpoint to;  // spi: the inbound SA of the tunnel, for the caller to find its pair
  std::vector<std::uint8_t> payload;  // the UDP payload, source port 1701
};

// The AVPs of an ICCN that a LAC sends when it has already talked LCP and
// authentication with the client (§4.4.5), for the PPP layer to pick up.
struct ProxyAvps {
  std::optional<Bytes> initial_received_lcp_confreq;
  std::optional<Bytes> last_sent_lcp_confreq;
  std::optional<Bytes> last_received_lcp_confreq;
  std::optional<std::uint16_t> authen_type;
  std::optional<std::string> authen_name;
  std::optional<Bytes> authen_challenge;
  std::optional<std::uint8_t> authen_id;
  std::optional<Bytes> authen_response;

  bool operator==(const ProxyAvps&) const = default;
};

enum class CloseCause : std::uint8_t {
  peer_cdn,           // the peer sent CDN
  peer_stopccn,       // the peer sent StopCCN
  local_request,      // close_session / close_tunnel from the operator or PPP
  peer_silent,        // retransmissions exhausted (§5.8)
  auth_failed,        // tunnel authentication (§5.1.1)
  unknown_mandatory,  // unknown AVP or message type with the M bit (§4.1)
  protocol_error,     // a message the state machine cannot take
  refused,            // version, limits or policy at setup
  transport_gone,     // the IPsec SA carrying the tunnel was removed: nothing can be sent
};

const char* close_cause_name(CloseCause c) noexcept;

// An ICRQ was accepted and the ICRP is on its way: both ids are known. The
// peer's first PPP frames follow its ICCN at once, so the caller installs
// the session in the data plane now rather than at SessionEstablished,
// where they would race the installation and be lost.
struct SessionOffered {
  std::uint16_t tunnel_id = 0;
  std::uint16_t peer_tunnel_id = 0;
  std::uint16_t session_id = 0;
  std::uint16_t peer_session_id = 0;
  Endpoint peer;
};

struct SessionEstablished {
  std::uint16_t tunnel_id = 0;
  std::uint16_t peer_tunnel_id = 0;
  std::uint16_t session_id = 0;
  std::uint16_t peer_session_id = 0;
  Endpoint peer;
  bool sequencing_required = false;
  std::uint32_t tx_connect_speed = 0;
  std::optional<std::uint32_t> rx_connect_speed;
  std::uint32_t framing_type = 0;
  std::optional<std::string> calling_number;
  std::optional<std::string> called_number;
  ProxyAvps proxy;
};

struct SessionClosed {
  std::uint16_t tunnel_id = 0;
  std::uint16_t peer_tunnel_id = 0;
  std::uint16_t session_id = 0;
  std::uint16_t peer_session_id = 0;
  Endpoint peer;
  bool was_established = false;
  CloseCause cause = CloseCause::local_request;
  std::optional<ResultCode> result;  // the CDN's Result Code, either way
};

struct TunnelClosed {
  std::uint16_t tunnel_id = 0;
  std::uint16_t peer_tunnel_id = 0;
  Endpoint peer;
  CloseCause cause = CloseCause::local_request;
  std::optional<ResultCode> result;  // the StopCCN's Result Code, either way
};

using Event = std::variant<SessionOffered, SessionEstablished, SessionClosed, TunnelClosed>;

struct LogRecord {
  cp::LogLevel level = cp::LogLevel::info;
  std::string text;  // one line, no secrets
};

struct LnsOutput {
  std::vector<OutPacket> packets;
  std::vector<Event> events;
  std::vector<LogRecord> logs;
};

}  // namespace l2tpgw::l2tp
