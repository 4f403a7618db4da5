// The state IkeService keeps per ISAKMP SA, per IPsec SA pair and per
// Quick Mode exchange: shared by ike_service.cc, which runs them, and
// ike_state.cc, which saves and restores them across a restart.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "controlplane/ike/fragment.h"
#include "controlplane/ike/main_mode.h"
#include "controlplane/ike/main_mode_initiator.h"
#include "controlplane/ike/quick_mode.h"
#include "controlplane/ike_service.h"

namespace l2tpgw::cp {

// The peer's ID as logs and views show it.
std::string id_text(const ike::Identification& id);
// An IPv4 endpoint, and the host-order address of one (0 for another family).
ike::Address address_of(std::uint32_t host_order, std::uint16_t port);
std::uint32_t ipv4_of(const ike::Address& a);

struct IkeService::Exchange {
  // One of the two: the peer's Quick Mode, or a rekey we started.
  std::unique_ptr<ike::QuickModeResponder> qm;
  std::unique_ptr<ike::QuickModeInitiator> ours;
  std::uint32_t replaces_spi_in = 0;  // ours: the inbound SPI of the pair it replaces
  ike::Bytes last_out;
  ike::Address local;
  ike::Address peer;
  Clock::time_point next_retransmit{};
  unsigned retransmits = 0;
  std::optional<Clock::time_point> finished;
  // Our inbound SA, in the data plane from HASH(2) until HASH(3) hands it
  // to an IpsecSa or the exchange is abandoned; 0 when there is none.
  std::uint32_t inbound_spi = 0;
  std::uint32_t inbound_peer = 0;
};

struct IkeService::IpsecSa {
  std::uint32_t spi_in = 0;
  std::uint32_t spi_out = 0;
  std::uint32_t peer_addr = 0;
  std::uint16_t peer_port = 0;  // with UDP encapsulation; 0 for raw ESP
  bool udp = false;
  std::string transform;
  Clock::time_point established{};
  Clock::time_point expires{};
  std::uint32_t life_kilobytes = 0;
  // What a rekey of ours offers again (keys wiped), and when it is due.
  std::shared_ptr<const ike::EspSaPair> basis;
  Clock::time_point rekey_at{};
  bool rekeying = false;                       // a rekey of ours started on it
  std::optional<Clock::time_point> move_at;    // sessions move to it then
  std::optional<Clock::time_point> retire_at;  // replaced by our rekey: deleted then
};

struct IkeService::IkeSa {
  // Declared first: the Quick Modes below refer to its ISAKMP SA. One of
  // the two: the peer's Main Mode, or one we started (a phase-1 rekey).
  std::unique_ptr<ike::MainModeResponder> mm;
  std::unique_ptr<ike::MainModeInitiator> ours;
  std::map<std::uint32_t, Exchange> quick_modes;
  // Message IDs of the peer's Quick Modes that failed (the newest few):
  // their retransmissions are counted, not answered or logged again.
  std::deque<std::uint32_t> failed_quick_modes;
  std::vector<IpsecSa> ipsec;
  ike::Address local;
  ike::Address peer;
  std::string peer_id;
  Clock::time_point created{};
  Clock::time_point last_rx{};
  Clock::time_point expires{};
  ike::Bytes last_out;  // our last Main Mode reply, sent again on timeout
  ike::FragmentReassembly fragments;
  Clock::time_point next_retransmit{};
  unsigned retransmits = 0;
  bool half_open = false;
  std::uint16_t fragment_id = 0;  // of our last Main Mode reply sent in fragments
  bool told_local_nat = false;
  bool ended = false;  // deleted by the peer or expired; kept while IPsec SAs live
  Clock::time_point next_dpd{};
  std::uint32_t dpd_sequence = 0;
  unsigned dpd_unanswered = 0;
  Clock::time_point next_keepalive{};
  // Phase-1 rekeys: when this SA was established and when ours is due;
  // whether the automatic one was started (once); for one of ours, the
  // cookies of the SA it replaces and the last answer dropped.
  Clock::time_point established_at{};
  Clock::time_point p1_rekey_at{};
  bool p1_rekey_started = false;
  CookiePair replaces{};
  std::string last_dropped;

  const ike::IsakmpSa* isakmp() const { return mm ? mm->sa() : ours->sa(); }
};

}  // namespace l2tpgw::cp
