// Transform attributes of IKEv1 phase 1 (RFC 2409 Appendix A) and phase 2
// (RFC 2407 §4.5), the responder's policy, and the matcher that picks the
// first acceptable transform in the peer's order (RFC 2408 §4.2: the
// initiator's order is its preference).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "controlplane/ike/algorithms.h"
#include "controlplane/ike/isakmp.h"
#include "dataplane/crypto/esp_algorithms.h"

namespace l2tpgw::ike {

// RFC 2409 Appendix A attribute classes.
namespace p1_attr {
inline constexpr std::uint16_t encryption = 1;
inline constexpr std::uint16_t hash = 2;
inline constexpr std::uint16_t auth_method = 3;
inline constexpr std::uint16_t group = 4;
inline constexpr std::uint16_t group_type = 5;
inline constexpr std::uint16_t life_type = 11;
inline constexpr std::uint16_t life_duration = 12;
inline constexpr std::uint16_t prf = 13;
inline constexpr std::uint16_t key_length = 14;
}  // namespace p1_attr

// RFC 2407 §4.5 attribute classes.
namespace p2_attr {
inline constexpr std::uint16_t life_type = 1;
inline constexpr std::uint16_t life_duration = 2;
inline constexpr std::uint16_t group = 3;
inline constexpr std::uint16_t encapsulation = 4;
inline constexpr std::uint16_t auth_algorithm = 5;
inline constexpr std::uint16_t key_length = 6;
}  // namespace p2_attr

inline constexpr std::uint16_t life_seconds_type = 1;
inline constexpr std::uint16_t life_kilobytes_type = 2;
inline constexpr std::uint8_t key_ike = 1;  // RFC 2407 §4.4.2, the only ISAKMP transform

// Authentication methods that announce XAUTH or hybrid modes
// (draft-ietf-ipsec-isakmp-xauth §4): refused, the gateway does L2TP/PPP
// user authentication instead.
constexpr bool is_xauth_method(std::uint32_t v) noexcept {
  return (v >= 65001 && v <= 65010) || (v >= 64221 && v <= 64226);
}

// ---- phase 1 ----

struct Phase1Suite {
  CipherSpec cipher;
  Hash hash = Hash::sha1;
  AuthMethod auth = AuthMethod::psk;
  DhGroup group = DhGroup::modp2048;

  std::string describe() const;
  constexpr bool operator==(const Phase1Suite&) const noexcept = default;
};

// One peer transform, decoded. `problem` names what made it unusable (an
// unknown value, a missing attribute, XAUTH...), empty when it is a suite.
struct Phase1Transform {
  std::uint8_t proposal_number = 0;
  std::uint8_t transform_number = 0;
  Phase1Suite suite;
  std::uint32_t life_seconds = 0;    // 0 = not offered
  std::uint32_t life_kilobytes = 0;  // 0 = not offered
  std::string problem;

  std::string describe() const;
};

Phase1Transform decode_phase1(const Proposal& p, const Transform& t);

struct Phase1Policy {
  std::vector<Phase1Suite> suites;  // what is accepted, in preference order
  bool allow_md5 = false;           // MD5 is refused unless explicitly allowed
  bool allow_modp1024 = true;       // Android and older macOS offer nothing else

  // Why the policy refuses this suite, or empty when it accepts it.
  std::string refusal(const Phase1Suite& s) const;
  std::string describe() const;
};

Phase1Policy default_phase1_policy();

struct Phase1Match {
  std::optional<Phase1Transform> chosen;
  const Proposal* proposal = nullptr;    // into the parsed SA
  const Transform* transform = nullptr;  // into the parsed SA
  std::string offered;                   // every peer transform, with the reason each was refused
  std::string configured;                // the policy

  // "no proposal chosen: offered [...]; configured [...]"
  std::string failure() const;
};

Phase1Match match_phase1(const SecurityAssociation& sa, const Phase1Policy& policy);

// An initiator's SA payload body offering exactly `s` (one proposal, one
// transform) with a life in seconds (0: not sent): what a phase-1 rekey we
// start proposes. Attributes in the order the built-in clients send them.
Bytes offer_sa(const Phase1Suite& s, std::uint32_t life_seconds);

// The responder's answer to that offer (RFC 2408 §4.2: one proposal with
// the one transform it chose): empty when it chose `s`, else why not.
std::string check_chosen(const SecurityAssociation& sa, const Phase1Suite& s);

// The responder's SA payload body: the chosen proposal carrying only the
// chosen transform, byte for byte as offered (RFC 2408 §4.2), with our SPI
// when one is given (phase 2).
Bytes reply_sa(const SecurityAssociation& sa, const Proposal& p, const Transform& t,
               ByteView spi = {});

// ---- phase 2 (ESP) ----

// RFC 2407 §4.4.4 ESP transform ids; AES-CBC from RFC 3602.
enum class EspId : std::uint8_t { des3 = 3, aes_cbc = 12 };
// RFC 2407 §4.5 Authentication Algorithm; 5-7 from RFC 4868.
enum class EspAuthAlg : std::uint16_t {
  hmac_md5 = 1,
  hmac_sha1 = 2,
  hmac_sha256 = 5,
  hmac_sha384 = 6,
  hmac_sha512 = 7,
};
// RFC 2407 §4.5, RFC 3947 §5.1 (3, 4), and the drafts' 61443/61444.
enum class EncapMode : std::uint16_t {
  tunnel = 1,
  transport = 2,
  udp_tunnel = 3,
  udp_transport = 4,
  udp_tunnel_draft = 61443,
  udp_transport_draft = 61444,
};

constexpr bool is_transport(EncapMode m) noexcept {
  return m == EncapMode::transport || m == EncapMode::udp_transport ||
         m == EncapMode::udp_transport_draft;
}
constexpr bool is_udp_encapsulated(EncapMode m) noexcept {
  return m != EncapMode::tunnel && m != EncapMode::transport;
}

struct Phase2Suite {
  EspId cipher = EspId::aes_cbc;
  std::uint16_t key_bits = 128;
  EspAuthAlg auth = EspAuthAlg::hmac_sha1;

  std::string describe() const;
  constexpr bool operator==(const Phase2Suite&) const noexcept = default;
};

struct Phase2Transform {
  std::uint8_t proposal_number = 0;
  std::uint8_t transform_number = 0;
  std::uint32_t spi = 0;  // the peer's inbound SPI
  Phase2Suite suite;
  EncapMode encapsulation = EncapMode::transport;
  std::optional<DhGroup> pfs_group;
  std::uint32_t life_seconds = 0;
  std::uint32_t life_kilobytes = 0;
  std::string problem;

  std::string describe() const;
};

Phase2Transform decode_phase2(const Proposal& p, const Transform& t);

// An initiator's SA payload body offering exactly `t` once more (suite,
// encapsulation, PFS group) with our SPI and the given lifetimes (0: not
// sent): what a rekey we start proposes. Attributes in the order the
// built-in clients send them.
Bytes offer_sa(const Phase2Transform& t, std::uint32_t spi, std::uint32_t life_seconds,
               std::uint32_t life_kilobytes);

struct Phase2Policy {
  std::vector<Phase2Suite> suites;
  bool allow_transport = true;  // L2TP/IPsec is transport mode (RFC 3193 §4)
  bool allow_tunnel = false;
  bool allow_md5 = false;
  bool allow_modp1024 = true;
  std::vector<DhGroup> pfs_groups;  // groups accepted when the peer asks for PFS
  // IKEv1 does not negotiate the ICV length: RFC 4868 says 128 bits for
  // HMAC-SHA2-256, but some older macOS/iOS releases truncate to 96
  // (the pre-RFC draft). Set per peer group when such clients must work.
  std::uint8_t sha256_icv_bits = 128;

  std::string refusal(const Phase2Transform& t) const;
  std::string describe() const;
};

Phase2Policy default_phase2_policy();

struct Phase2Match {
  std::optional<Phase2Transform> chosen;
  const Proposal* proposal = nullptr;
  const Transform* transform = nullptr;
  std::string offered;
  std::string configured;

  std::string failure() const;
};

Phase2Match match_phase2(const SecurityAssociation& sa, const Phase2Policy& policy);

// The data plane's names for a chosen ESP transform, when it implements it.
std::optional<std::pair<EspCipher, EspAuth>> to_dataplane(const Phase2Suite& s,
                                                          std::uint8_t sha256_icv_bits = 128);

}  // namespace l2tpgw::ike
