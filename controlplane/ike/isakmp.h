// ISAKMP (RFC 2408 §3) message and payload codecs for the IKEv1 responder.
// Parsers are pure functions over byte spans: they never read past the span,
// they return a named ParseError, and the views they fill point into the
// caller's buffer (which must outlive them). Builders append to a vector.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace l2tpgw::ike {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;
using Cookie = std::array<std::uint8_t, 8>;

// One list makes the enum and the names logged for it.
#define L2TPGW_IKE_PARSE_ERRORS(X)                                                      \
  X(none, "ok")                                                                         \
  X(truncated, "truncated")                                                             \
  X(lying_length, "length field disagrees with the bytes present")                      \
  X(bad_version, "unsupported ISAKMP version")                                          \
  X(unknown_payload_type, "unknown payload type")                                       \
  X(trailing_bytes, "bytes after the last payload")                                     \
  X(too_many_payloads, "too many payloads")                                             \
  X(bad_doi, "DOI is not IPsec")                                                        \
  X(bad_situation, "situation other than SIT_IDENTITY_ONLY")                            \
  X(bad_proposal_chain, "proposal chain holds something other than proposals")          \
  X(bad_transform_chain, "transform chain holds something other than transforms")       \
  X(transform_count_mismatch, "proposal transform count disagrees with its transforms") \
  X(bad_attribute, "malformed data attribute")                                          \
  X(bad_id, "malformed identification")                                                 \
  X(bad_nonce, "nonce length outside 8..256 bytes")                                     \
  X(empty_payload, "payload body is empty")                                             \
  X(bad_spi_size, "SPI size inconsistent with the payload")                             \
  X(bad_nat_oa, "malformed NAT-OA")                                                     \
  X(bad_fragment, "malformed fragment")

enum class ParseError : std::uint8_t {
#define L2TPGW_IKE_X(e, s) e,
  L2TPGW_IKE_PARSE_ERRORS(L2TPGW_IKE_X)
#undef L2TPGW_IKE_X
};

std::string_view to_string(ParseError e) noexcept;

// RFC 2408 §3.1 (2 = Identity Protection = Main Mode, 4 = Aggressive) and
// RFC 2409 §9 (32 = Quick Mode, 33 = New Group Mode).
enum class ExchangeType : std::uint8_t {
  base = 1,
  main_mode = 2,
  auth_only = 3,
  aggressive = 4,
  informational = 5,
  quick_mode = 32,
  new_group = 33,
};

// RFC 2408 §3.1 flags.
inline constexpr std::uint8_t flag_encryption = 0x01;
inline constexpr std::uint8_t flag_commit = 0x02;
inline constexpr std::uint8_t flag_auth_only = 0x04;

// RFC 2408 §3.1 payload types; 20/21 from RFC 3947, 130/131 are the numbers
// the NAT-T drafts used from the private range, 132 is the fragmentation
// payload Windows and strongSwan exchange (Cisco's format).
enum class PayloadType : std::uint8_t {
  none = 0,
  sa = 1,
  proposal = 2,
  transform = 3,
  key_exchange = 4,
  identification = 5,
  certificate = 6,
  certificate_request = 7,
  hash = 8,
  signature = 9,
  nonce = 10,
  notification = 11,
  delete_ = 12,
  vendor_id = 13,
  attribute = 14,  // ISAKMP Mode Config (draft-dukes-ike-mode-cfg)
  nat_d = 20,
  nat_oa = 21,
  nat_d_draft = 130,
  nat_oa_draft = 131,
  fragment = 132,
};

bool known_payload_type(std::uint8_t t) noexcept;
std::string_view name(PayloadType t) noexcept;

inline constexpr std::size_t header_len = 28;
inline constexpr std::size_t generic_header_len = 4;
// Bounds the work one datagram can cause; real messages carry at most ~15.
inline constexpr std::size_t max_payloads = 64;

struct Header {
  Cookie icookie{};
  Cookie rcookie{};
  std::uint8_t next_payload = 0;
  std::uint8_t major = 1;
  std::uint8_t minor = 0;
  std::uint8_t exchange = 0;
  std::uint8_t flags = 0;
  std::uint32_t message_id = 0;
  std::uint32_t length = 0;
};

// Checks version 1.x (RFC 2408 §3.1: a major version above ours is refused;
// minor versions are accepted as 1.0 by the implementations we meet), and
// that 28 <= length <= bytes present. Bytes after `length` are ignored.
[[nodiscard]] ParseError parse_header(ByteView msg, Header& out) noexcept;
void write_header(const Header& h, std::span<std::uint8_t, header_len> out) noexcept;

struct PayloadView {
  std::uint8_t type = 0;
  ByteView body;   // after the 4-byte generic header
  ByteView whole;  // generic header included
};

// Walks a payload chain starting with type `first`. With `allow_padding`
// (a decrypted body) bytes after the last payload are tolerated as the CBC
// padding of RFC 2409 §5.3; otherwise they are an error.
[[nodiscard]] ParseError walk_payloads(std::uint8_t first, ByteView chain, bool allow_padding,
                                       std::vector<PayloadView>& out);

// A whole plaintext message: header, then its payloads. Encrypted messages
// are parsed with parse_header, decrypted, then walk_payloads(allow_padding).
struct Message {
  Header header;
  std::vector<PayloadView> payloads;

  const PayloadView* find(PayloadType t) const noexcept;
};
[[nodiscard]] ParseError parse_message(ByteView msg, Message& out);
// The first payload of a type in a walked list (e.g. a decrypted body), or null.
const PayloadView* find_payload(const std::vector<PayloadView>& payloads, PayloadType t) noexcept;
// The bodies of every payload of a type, in order.
std::vector<ByteView> payload_bodies(const std::vector<PayloadView>& payloads, PayloadType t);

// Builds a message: each add() links the previous payload's Next Payload to
// the new one (RFC 2408 §3.2), finish() writes the length.
class MessageBuilder {
 public:
  explicit MessageBuilder(const Header& h);
  void add(PayloadType type, ByteView body);
  // The complete message with the length field set.
  Bytes finish() &&;

 private:
  Bytes _bytes;
  std::size_t _last_next = 16;  // offset of the Next Payload byte to patch
};

// ---- Data attributes (RFC 2408 §3.3) ----

struct Attribute {
  std::uint16_t type = 0;  // AF bit removed
  bool tv = false;         // short form: the value is the 2 bytes of `value`
  ByteView value;

  // The value as an integer when it fits in 8 bytes (TV, or TLV of 1..8).
  std::optional<std::uint64_t> integer() const noexcept;
};

[[nodiscard]] ParseError parse_attributes(ByteView data, std::vector<Attribute>& out);
void append_attribute_tv(Bytes& out, std::uint16_t type, std::uint16_t value);
void append_attribute_tlv(Bytes& out, std::uint16_t type, ByteView value);
// Basic when it fits in 16 bits, else a 4-byte TLV (life durations, RFC 2407 §4.5).
void append_attribute_int(Bytes& out, std::uint16_t type, std::uint32_t value);

// ---- SA, Proposal, Transform (RFC 2408 §3.4-3.6, RFC 2407 §4.6.1) ----

inline constexpr std::uint32_t doi_ipsec = 1;
inline constexpr std::uint32_t sit_identity_only = 1;

// RFC 2407 §4.4.1.
enum class ProtocolId : std::uint8_t { isakmp = 1, ah = 2, esp = 3, ipcomp = 4 };

struct Transform {
  std::uint8_t number = 0;
  std::uint8_t id = 0;
  std::vector<Attribute> attributes;
  ByteView whole;

  const Attribute* find(std::uint16_t type) const noexcept;
};

struct Proposal {
  std::uint8_t number = 0;
  std::uint8_t protocol = 0;
  ByteView spi;
  std::vector<Transform> transforms;
  ByteView whole;
};

struct SecurityAssociation {
  std::uint32_t doi = 0;
  std::uint32_t situation = 0;
  std::vector<Proposal> proposals;
};

// Parses an SA payload body (the SAi_b of RFC 2409 §5).
[[nodiscard]] ParseError parse_sa(ByteView body, SecurityAssociation& out);

struct TransformSpec {
  std::uint8_t number = 1;
  std::uint8_t id = 0;
  Bytes attributes;  // encoded with append_attribute_*
};

struct ProposalSpec {
  std::uint8_t number = 1;
  std::uint8_t protocol = 0;
  Bytes spi;
  std::vector<TransformSpec> transforms;
};

Bytes encode_sa(std::uint32_t doi, std::uint32_t situation,
                std::span<const ProposalSpec> proposals);

// ---- Identification (RFC 2407 §4.6.2) ----

enum class IdType : std::uint8_t {
  ipv4_addr = 1,
  fqdn = 2,
  user_fqdn = 3,
  ipv4_addr_subnet = 4,
  ipv6_addr = 5,
  ipv6_addr_subnet = 6,
  ipv4_addr_range = 7,
  ipv6_addr_range = 8,
  der_asn1_dn = 9,
  der_asn1_gn = 10,
  key_id = 11,
};

struct Identification {
  std::uint8_t type = 0;
  std::uint8_t protocol = 0;  // IP protocol, 0 = any
  std::uint16_t port = 0;     // 0 = any
  ByteView data;

  // The address for ipv4_addr, or the network for ipv4_addr_subnet.
  std::uint32_t ipv4() const noexcept;
  // The mask for ipv4_addr_subnet.
  std::uint32_t ipv4_mask() const noexcept;
};

[[nodiscard]] ParseError parse_id(ByteView body, Identification& out) noexcept;
Bytes encode_id(IdType type, std::uint8_t protocol, std::uint16_t port, ByteView data);

// ---- Certificate, certificate request (RFC 2408 §3.9, §3.10) ----

// RFC 2408 §3.9 Certificate Encoding: the one IKEv1 peers use for X.509.
inline constexpr std::uint8_t cert_x509_signature = 4;

struct Certificate {
  std::uint8_t encoding = 0;  // 4 = X.509 Certificate - Signature
  ByteView data;
};
struct CertificateRequest {
  std::uint8_t type = 0;
  ByteView authority;  // DER DN, or empty for "any"
};
[[nodiscard]] ParseError parse_cert(ByteView body, Certificate& out) noexcept;
[[nodiscard]] ParseError parse_cert_request(ByteView body, CertificateRequest& out) noexcept;
Bytes encode_cert(std::uint8_t encoding, ByteView data);
// An empty authority asks for any certificate of that type.
Bytes encode_cert_request(std::uint8_t type, ByteView authority);

// ---- KE, Hash, Signature, Nonce, Vendor ID, NAT-D: opaque bodies ----

// Non-empty (KE, HASH, SIG, VID, NAT-D).
[[nodiscard]] ParseError parse_opaque(ByteView body) noexcept;
// RFC 2409 §5: nonces are 8 to 256 bytes.
[[nodiscard]] ParseError parse_nonce(ByteView body) noexcept;

// ---- Notification (RFC 2408 §3.14, RFC 2407 §4.6.3, RFC 3706) ----

enum class NotifyType : std::uint16_t {
  invalid_payload_type = 1,
  doi_not_supported = 2,
  situation_not_supported = 3,
  invalid_cookie = 4,
  invalid_major_version = 5,
  invalid_minor_version = 6,
  invalid_exchange_type = 7,
  invalid_flags = 8,
  invalid_message_id = 9,
  invalid_protocol_id = 10,
  invalid_spi = 11,
  invalid_transform_id = 12,
  attributes_not_supported = 13,
  no_proposal_chosen = 14,
  bad_proposal_syntax = 15,
  payload_malformed = 16,
  invalid_key_information = 17,
  invalid_id_information = 18,
  invalid_cert_encoding = 19,
  invalid_certificate = 20,
  cert_type_unsupported = 21,
  invalid_cert_authority = 22,
  invalid_hash_information = 23,
  authentication_failed = 24,
  invalid_signature = 25,
  address_notification = 26,
  notify_sa_lifetime = 27,
  certificate_unavailable = 28,
  unsupported_exchange_type = 29,
  unequal_payload_lengths = 30,
  connected = 16384,
  responder_lifetime = 24576,
  replay_status = 24577,
  initial_contact = 24578,
  dpd_r_u_there = 36136,
  dpd_r_u_there_ack = 36137,
};

std::string_view name(NotifyType t) noexcept;

struct Notification {
  std::uint32_t doi = 0;
  std::uint8_t protocol = 0;
  std::uint16_t type = 0;
  ByteView spi;
  ByteView data;

  // RFC 3706 §5: R-U-THERE / R-U-THERE-ACK carry the two cookies as the SPI
  // and a 32-bit sequence number as the data.
  std::optional<std::uint32_t> dpd_sequence() const noexcept;
  bool is_error() const noexcept { return type > 0 && type < 16384; }
};

[[nodiscard]] ParseError parse_notification(ByteView body, Notification& out) noexcept;
Bytes encode_notification(std::uint32_t doi, std::uint8_t protocol, NotifyType type, ByteView spi,
                          ByteView data);
// The DPD notification for the ISAKMP SA with these cookies (RFC 3706 §5.1).
Bytes encode_dpd(NotifyType type, const Cookie& icookie, const Cookie& rcookie,
                 std::uint32_t sequence);

// ---- Delete (RFC 2408 §3.15) ----

struct Delete {
  std::uint32_t doi = 0;
  std::uint8_t protocol = 0;
  std::uint8_t spi_size = 0;
  std::uint16_t count = 0;
  ByteView spis;  // count × spi_size bytes

  ByteView spi(std::size_t i) const noexcept { return spis.subspan(i * spi_size, spi_size); }
};

[[nodiscard]] ParseError parse_delete(ByteView body, Delete& out) noexcept;
Bytes encode_delete(std::uint32_t doi, std::uint8_t protocol, std::uint8_t spi_size,
                    std::span<const ByteView> spis);

// ---- NAT-OA (RFC 3947 §5.2) ----

struct NatOa {
  std::uint8_t id_type = 0;  // ipv4_addr or ipv6_addr
  ByteView address;
};
[[nodiscard]] ParseError parse_nat_oa(ByteView body, NatOa& out) noexcept;
Bytes encode_nat_oa(ByteView address);

// ---- IKE fragmentation (the Cisco-format payload 132) ----

struct Fragment {
  std::uint16_t id = 0;
  std::uint8_t number = 0;  // from 1
  bool last = false;
  ByteView data;
};
[[nodiscard]] ParseError parse_fragment(ByteView body, Fragment& out) noexcept;
Bytes encode_fragment(std::uint16_t id, std::uint8_t number, bool last, ByteView data);

}  // namespace l2tpgw::ike
