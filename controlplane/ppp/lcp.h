// LCP as the server of an LNS (RFC 1661 §6): asks for an authentication
// protocol (the first allowed one the client accepts) and a magic number;
// accepts the client's MRU, PFC and ACFC and records them for the data
// plane; rejects everything else. Once open: Echo keepalives with dead-peer
// detection (§5.8), Protocol-Reject in both directions (§5.7), Discard,
// Identification and Time-Remaining ignored.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "controlplane/ppp/fsm.h"
#include "controlplane/ppp/link_state.h"
#include "controlplane/ppp/random.h"
#include "controlplane/ppp/settings.h"

namespace l2tpgw::ppp {

// RFC 1661 §6 option types.
inline constexpr std::uint8_t lcp_mru = 1;
inline constexpr std::uint8_t lcp_accm = 2;  // RFC 1662 §7.1
inline constexpr std::uint8_t lcp_auth = 3;
inline constexpr std::uint8_t lcp_quality = 4;
inline constexpr std::uint8_t lcp_magic = 5;
inline constexpr std::uint8_t lcp_pfc = 7;
inline constexpr std::uint8_t lcp_acfc = 8;
// CHAP algorithms (RFC 1994 §3; RFC 2759 §2).
inline constexpr std::uint8_t chap_alg_md5 = 5;
inline constexpr std::uint8_t chap_alg_mschapv2 = 0x81;

class Lcp final : public FsmPolicy {
 public:
  Lcp(const PppSettings& settings, Random& random, Outbox& out, Counters& counters);

  Fsm& fsm() noexcept { return _fsm; }
  const Fsm& fsm() const noexcept { return _fsm; }

  void tick(Time now);
  std::optional<Time> deadline() const noexcept;

  // RFC 1661 §5.7: refuses a frame of a protocol we do not run; `info` is the
  // frame after its Protocol field. Only while LCP is open.
  void send_protocol_reject(std::uint16_t protocol, std::span<const std::uint8_t> info);

  // What was agreed, valid once the fsm is opened.
  std::optional<AuthProto> auth() const noexcept { return _auth_acked; }
  bool pfc() const noexcept { return _peer_pfc; }
  bool acfc() const noexcept { return _peer_acfc; }
  std::uint16_t peer_mru() const noexcept { return _peer_mru; }
  std::uint32_t magic() const noexcept { return _magic; }

  // Set when the peer stopped answering Echo-Requests: the link is dead and
  // no Terminate-Request can be expected to get through.
  bool dead() const noexcept { return _dead; }
  // Protocols the peer refused with Protocol-Reject since the last call.
  std::vector<std::uint16_t> take_rejected_protocols() { return std::exchange(_rejected, {}); }

  // RFC 2661 §4.4.5 proxy LCP: takes the options the LAC last sent and last
  // received as if this side had negotiated them. Empty when acceptable;
  // otherwise why not, and nothing has changed that a renegotiation needs.
  std::string adopt(const OptionList& last_sent, const OptionList& last_received);

  // Across a control-plane restart: what was agreed, and Opened again with
  // the keepalives starting over from now.
  void save(LinkSnapshot& s) const noexcept;
  void restore(Time now, const LinkSnapshot& s);

  // FsmPolicy
  void build_request(Bytes& options) override;
  void check_request(const OptionList& request, Bytes& nak, Bytes& reject) override;
  void on_ack(const OptionList& acked) override;
  std::string on_nak(const OptionList& nak) override;
  std::string on_reject(const OptionList& reject) override;
  void layer_up(Time now) override;
  void layer_down() override;
  bool other_code(Time now, const Packet& p) override;

 private:
  std::uint32_t new_magic();
  std::optional<std::size_t> next_auth(std::optional<AuthProto> suggested) const;

  const PppSettings& _settings;
  Random& _random;
  Counters& _counters;
  Fsm _fsm;
  // Our request.
  std::optional<std::size_t> _auth_idx;  // into _settings.auth
  std::vector<bool> _auth_tried;
  std::optional<AuthProto> _auth_acked;
  bool _send_mru;
  bool _send_magic = true;
  std::uint16_t _mru;
  std::uint32_t _magic;
  // The client's request as last accepted.
  std::uint16_t _peer_mru = 1500;
  bool _peer_pfc = false;
  bool _peer_acfc = false;
  unsigned _magic_loops = 0;
  // Keepalives.
  std::optional<Time> _next_echo;
  unsigned _echo_outstanding = 0;
  bool _dead = false;
  std::vector<std::uint16_t> _rejected;
};

}  // namespace l2tpgw::ppp
