// The responder's side of IKEv1 Quick Mode (RFC 2409 §5.5, three messages)
// on an established ISAKMP SA, and the informational exchanges that ride on
// it (RFC 2409 §5.7: DPD, Delete, INITIAL-CONTACT). Pure logic over
// datagrams like main_mode.h: the caller owns sockets, timers and the data
// plane; a finished exchange yields the ESP SA pair to install.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "controlplane/ike/dh.h"
#include "controlplane/ike/isakmp.h"
#include "controlplane/ike/keys.h"
#include "controlplane/ike/main_mode.h"
#include "controlplane/ike/proposal.h"
#include "controlplane/ike/secret.h"
#include "dataplane/config/config.h"
#include "dataplane/crypto/esp_algorithms.h"

namespace l2tpgw::ike {

#define L2TPGW_IKE_QM_FAILURES(X)                                \
  X(none, "ok")                                                  \
  X(malformed, "malformed message")                              \
  X(unexpected_exchange, "not a Quick Mode message")             \
  X(not_encrypted, "Quick Mode message not encrypted")           \
  X(bad_hash, "Quick Mode HASH does not verify")                 \
  X(missing_payload, "a mandatory payload is missing")           \
  X(no_proposal_chosen, "no proposal chosen")                    \
  X(traffic_selectors, "Quick Mode refused (traffic selectors)") \
  X(invalid_ke, "invalid PFS key exchange")                      \
  X(nat_without_nat_t, "peer behind NAT without NAT-T")          \
  X(internal, "internal error")

enum class QuickModeFailure : std::uint8_t {
#define L2TPGW_IKE_X(e, s) e,
  L2TPGW_IKE_QM_FAILURES(L2TPGW_IKE_X)
#undef L2TPGW_IKE_X
};

std::string_view to_string(QuickModeFailure f) noexcept;

// The well-known L2TP port (RFC 2661 §8.1), the traffic RFC 3193 protects.
inline constexpr std::uint16_t l2tp_port = 1701;

struct QuickModeConfig {
  Phase2Policy policy;
  // RFC 2407 §4.5: without a life attribute the SA lives 28800 seconds.
  std::uint32_t default_life_seconds = 28800;
  // Longer offers are cut to these and the peer is told with
  // RESPONDER-LIFETIME (RFC 2407 §4.6.3.1); 0 = no kilobyte limit.
  std::uint32_t max_life_seconds = 28800;
  std::uint32_t max_life_kilobytes = 0;
  // Tunnel mode (RFC 4301 §4.1, with policy.allow_tunnel): the inside
  // networks an IDcr may name (ike.tunnel_networks), and who already
  // holds an inner network overlapping a peer's IDci: empty when no other
  // ISAKMP peer does, else its name. A second peer with the same network
  // would take the first one's outbound route.
  std::vector<Ipv4Prefix> tunnel_networks;
  std::function<std::string(const IsakmpSa& asking, const Ipv4Prefix& peer_net)> tunnel_owner;
};

// The IPv4 prefix an ID payload names (RFC 2407 §4.6.2): ID_IPV4_ADDR as
// a /32, ID_IPV4_ADDR_SUBNET with a contiguous mask (host bits cleared),
// ID_IPV4_ADDR_RANGE when it is exactly one prefix; nullopt otherwise.
std::optional<Ipv4Prefix> id_prefix(const Identification& id);
std::optional<Ipv4Prefix> id_prefix(ByteView id_payload_body);
// Whether two prefixes share an address; whether `outer` holds all of `inner`.
bool overlaps(const Ipv4Prefix& a, const Ipv4Prefix& b) noexcept;
bool covers(const Ipv4Prefix& outer, const Ipv4Prefix& inner) noexcept;

// The values the responder draws at random, injectable for tests.
struct QuickModeRandom {
  std::uint32_t spi = 0;  // our inbound SPI, >= 256 (RFC 2406 §2.1)
  Bytes nonce;            // Nr_b
  Bytes dh_private;       // PFS only; empty: a fresh key pair
  // From OpenSSL's DRBG: a 32-byte nonce and a random SPI above 255.
  static QuickModeRandom fresh();
};

// One direction of ESP as the data plane installs it.
struct EspDirection {
  std::uint32_t spi = 0;
  SecretBytes enc_key;
  SecretBytes auth_key;
};

// The negotiated SA pair. `inbound` carries our SPI (the peer sends with
// it), `outbound` the peer's.
struct EspSaPair {
  Phase2Transform transform;
  EspCipher cipher = EspCipher::aes_cbc_128;
  EspAuth auth = EspAuth::hmac_sha1_96;
  EspDirection inbound;
  EspDirection outbound;
  bool transport = true;
  bool udp_encapsulated = false;  // RFC 3948: ESP in UDP 4500
  Address local;                  // the endpoints of the exchange (after NAT-T floating)
  Address peer;
  std::uint32_t life_seconds = 0;
  std::uint32_t life_kilobytes = 0;  // 0 = none
  std::optional<DhGroup> pfs;
  // The traffic selectors as agreed (ID payload bodies), empty when absent:
  // idci the client's, idcr ours, whichever side started the exchange.
  Bytes idci;
  Bytes idcr;
  std::optional<std::uint32_t> nat_oa_initiator;  // the client's original address (RFC 3947 §5.2)
  // Tunnel mode: the inner networks idci (the peer's side) and idcr (ours)
  // name; what the data plane checks inbound and routes outbound.
  Ipv4Prefix peer_net{0, 0};
  Ipv4Prefix local_net{0, 0};

  // "ESP aes-cbc-128/hmac-sha1-96 transport, NAT-T udp 4500"
  std::string describe() const;
};

enum class QuickModeState : std::uint8_t { wait_msg1, wait_msg2, wait_msg3, established, failed };

struct QuickModeStep {
  std::optional<Bytes> reply;
  QuickModeFailure failure = QuickModeFailure::none;
  std::string cause;
};

class QuickModeResponder {
 public:
  // `isakmp` and `config` must outlive the responder.
  QuickModeResponder(const IsakmpSa& isakmp, const QuickModeConfig& config, QuickModeRandom random);

  // A message of this exchange (its M-ID); `d.peer` is where it came from.
  QuickModeStep handle(const Datagram& d);

  QuickModeState state() const noexcept { return _state; }
  std::uint32_t message_id() const noexcept { return _message_id; }
  // Set once HASH(3) verified.
  const EspSaPair* result() const noexcept {
    return _state == QuickModeState::established ? &_result : nullptr;
  }
  // Set from the moment HASH(2) is built: the initiator may send on our
  // inbound SPI as soon as it has HASH(2), before we see HASH(3).
  const EspSaPair* negotiated() const noexcept {
    return _state == QuickModeState::wait_msg3 || _state == QuickModeState::established ? &_result
                                                                                      : nullptr;
  }

 private:
  QuickModeStep msg1(const Datagram& d, const Header& h);
  QuickModeStep msg3(const Header& h, ByteView msg);
  QuickModeStep fail(QuickModeFailure f, std::string detail);
  std::string check_selectors(const Identification* ci, const Identification* cr) const;
  // Tunnel mode's selectors; on success the pair's inner networks are set.
  std::string check_tunnel_selectors(const Identification* ci, const Identification* cr);

  const IsakmpSa& _isakmp;
  const QuickModeConfig& _config;
  QuickModeRandom _random;
  QuickModeState _state = QuickModeState::wait_msg1;
  std::uint32_t _message_id = 0;
  SecretBytes _iv;
  Bytes _ni_b;
  Bytes _last_in;
  Bytes _last_out;
  EspSaPair _result;
};

// A Quick Mode we start to replace a pair before it expires (RFC 2409
// §5.5 with the roles swapped): message 1 offers the pair's own transform
// with our new SPI and nonce, message 2 must choose it, message 3 ends the
// exchange. Our SPI comes from `random` (PFS with a fresh KE when the pair
// had PFS).
class QuickModeInitiator {
 public:
  // `isakmp` must outlive the initiator; `basis` is the pair replaced.
  QuickModeInitiator(const IsakmpSa& isakmp, const EspSaPair& basis, std::uint32_t message_id,
                     QuickModeRandom random);

  // Message 1, encrypted; a failure names why it could not be built.
  QuickModeStep start();
  // Message 2 from the peer: message 3 in `reply` and the state established.
  QuickModeStep handle(const Datagram& d);

  QuickModeState state() const noexcept { return _state; }
  std::uint32_t message_id() const noexcept { return _message_id; }
  const EspSaPair* result() const noexcept {
    return _state == QuickModeState::established ? &_result : nullptr;
  }

 private:
  QuickModeStep fail(QuickModeFailure f, std::string detail);

  const IsakmpSa& _isakmp;
  QuickModeRandom _random;
  std::uint32_t _message_id;
  QuickModeState _state = QuickModeState::wait_msg1;
  std::optional<DhKeyPair> _dh;
  SecretBytes _iv;
  Bytes _last_in;
  Bytes _last_out;
  EspSaPair _result;
};

// ---- informational exchanges (RFC 2409 §5.7) ----

struct InformationalResult {
  std::optional<Bytes> reply;                   // R-U-THERE-ACK
  std::optional<std::uint32_t> dpd_sequence;    // of an R-U-THERE or R-U-THERE-ACK
  bool delete_isakmp = false;                   // the peer deleted this ISAKMP SA
  std::vector<std::uint32_t> deleted_esp_spis;  // the peer's inbound SPIs it deleted
  bool initial_contact = false;                 // drop every older state of this peer
  std::vector<std::uint16_t> errors;            // error notifications, by type
  std::string failure;                          // non-empty: the message was dropped, and why
};

// Decrypts and authenticates (HASH(1), constant time) one informational
// message of `isakmp`; a DPD request is answered with an encrypted
// R-U-THERE-ACK under `reply_message_id` (random, nonzero).
InformationalResult handle_informational(const IsakmpSa& isakmp, ByteView msg,
                                         std::uint32_t reply_message_id);

// Builds an encrypted informational message of `isakmp` with one payload
// (a Delete or Notification body), HASH(1) first (RFC 2409 §5.7).
std::optional<Bytes> build_informational(const IsakmpSa& isakmp, std::uint32_t message_id,
                                         PayloadType type, ByteView body);

}  // namespace l2tpgw::ike
