// CCP (RFC 1962) carrying only MPPE (RFC 3078 §2.1, option 18): the
// strongest key length both the operator allows and the client offers,
// stateless when the client offers it and the operator prefers it; MPPC and
// every other compressor rejected. MPPE is one choice for both directions
// (the data plane keys both from it), so the server Naks the client's
// request down to a single choice and adopts the client's Nak of its own.
//
// Resynchronisation (RFC 1962 §2.2, RFC 3078 §8.2): the side that lost
// packets sends Reset-Request. The data plane decrypts the client's frames,
// so request_reset() sends ours; the client's Reset-Request is answered with
// Reset-Ack and reported through take_tx_reset() so that our transmit side
// changes key.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "controlplane/ppp/fsm.h"
#include "controlplane/ppp/link_state.h"
#include "controlplane/ppp/settings.h"
#include "dataplane/crypto/mppe.h"

namespace l2tpgw::ppp {

inline constexpr std::uint8_t ccp_mppe = 18;
// RFC 3078 §2.1 Supported Bits, as a host-order 32-bit value.
inline constexpr std::uint32_t mppe_bit_h = 0x01000000;  // stateless ("history-less")
inline constexpr std::uint32_t mppe_bit_m = 0x80;        // 56-bit
inline constexpr std::uint32_t mppe_bit_s = 0x40;        // 128-bit
inline constexpr std::uint32_t mppe_bit_l = 0x20;        // 40-bit
inline constexpr std::uint32_t mppe_bit_d = 0x10;        // obsolete
inline constexpr std::uint32_t mppe_bit_c = 0x01;        // MPPC compression

inline constexpr const char* cause_encryption_required = "encryption required but not offered";

class Ccp final : public FsmPolicy {
 public:
  Ccp(const PppSettings& settings, Outbox& out, Counters& counters);

  // Before the layer opens: the session's policy, and whether MPPE keys can
  // exist at all (MS-CHAPv2 was the authentication).
  void configure(MppePolicy policy, bool keys_available) noexcept;

  Fsm& fsm() noexcept { return _fsm; }
  const Fsm& fsm() const noexcept { return _fsm; }

  // Once opened: the agreed MPPE, or nullopt for none.
  std::optional<crypto::MppeBits> bits() const noexcept { return _bits; }
  bool stateless() const noexcept { return _stateless; }
  // Non-empty when the result contradicts the policy: the session fails.
  const std::string& failure() const noexcept { return _failure; }

  // The peer refused CCP altogether (LCP Protocol-Reject).
  void peer_refused(Time now);
  bool settled() const noexcept { return _fsm.opened() || _refused || _fsm.finished(); }

  // Across a control-plane restart: the MPPE agreed, Opened again.
  void save(LinkSnapshot& s) const noexcept;
  void restore(const LinkSnapshot& s) noexcept;

  void request_reset(Time now);
  bool take_tx_reset() noexcept { return std::exchange(_tx_reset, false); }
  void tick(Time now);
  std::optional<Time> deadline() const noexcept;

  void build_request(Bytes& options) override;
  void check_request(const OptionList& request, Bytes& nak, Bytes& reject) override;
  void on_ack(const OptionList& acked) override;
  std::string on_nak(const OptionList& nak) override;
  std::string on_reject(const OptionList& reject) override;
  void layer_up(Time now) override;
  void layer_down() override;
  bool other_code(Time now, const Packet& p) override;

 private:
  std::uint32_t choose(std::uint32_t offered) const noexcept;
  void send_reset(Time now);

  const PppSettings& _settings;
  Counters& _counters;
  Fsm _fsm;
  MppePolicy _policy = MppePolicy::none;
  std::uint32_t _allowed = 0;  // strength bits the operator allows
  // Our request: everything allowed until a single choice is known.
  bool _send_mppe = true;
  std::uint32_t _ours = 0;
  std::uint32_t _tx_acked = 0;   // what the client acknowledged of ours
  std::uint32_t _rx_agreed = 0;  // what we acknowledged of the client's
  bool _refused = false;
  std::optional<crypto::MppeBits> _bits;
  bool _stateless = false;
  std::string _failure;
  bool _tx_reset = false;
  std::optional<std::uint8_t> _reset_id;
  std::optional<Time> _reset_deadline;
  unsigned _reset_tries = 0;
};

}  // namespace l2tpgw::ppp
