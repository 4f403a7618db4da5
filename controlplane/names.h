// How the control plane names SAs, results and reasons in logs and the CLI.
#pragma once

#include <cstdint>
#include <string>

#include "dataplane/channel/messages.h"

namespace l2tpgw::cp {

std::string spi_hex(std::uint32_t spi);                 // 0x00001000
std::string direction_name(channel::Direction d);       // in / out
std::string encap_name(channel::Encap e);               // none / udp
std::string mode_name(channel::Mode m);                 // transport / tunnel
std::string prefix_text(const channel::Prefix& p);      // 10.9.0.0/24
std::string transform_name(const channel::SaParams& p);  // aes-cbc-128/hmac-sha1-96
// "in spi 0x00001000 peer 203.0.113.5"
std::string sa_name(channel::Direction d, std::uint32_t spi, std::uint32_t peer);
std::string sa_name(const channel::SaParams& p);
std::string ack_result_name(channel::AckResult r);
std::string punt_reason_name(channel::PuntReason r);
// Listed by the CLI even when zero.
inline constexpr channel::PuntReason known_punt_reasons[] = {
    channel::PuntReason::ike, channel::PuntReason::l2tp, channel::PuntReason::ppp};
std::string lifetime_kind_name(channel::LifetimeKind k);  // "soft packet"
// "tunnel 1 session 2": a session by our ids
std::string session_name(std::uint16_t local_tunnel_id, std::uint16_t local_session_id);
// "tunnel 1 session 2 peer 198.51.100.7:1701 address 10.1.0.7 sa in 0x00001001 out 0x00002001"
std::string session_text(const channel::SessionParams& p);
// What we send compressed or sequenced: "acfc,pfc,seq", or "-" for none.
std::string session_flags(const channel::SessionParams& p);
// "mppe128-stateless", "mppe40-stateful", or "none"
std::string mppe_mode(const channel::SessionParams& p);

}  // namespace l2tpgw::cp
