#include "controlplane/ike/isakmp.h"

#include <algorithm>
#include <cstring>

#include "controlplane/ike/wire_util.h"

namespace l2tpgw::ike {

std::string_view to_string(ParseError e) noexcept {
  switch (e) {
#define L2TPGW_IKE_X(e, s) \
  case ParseError::e:      \
    return s;
    L2TPGW_IKE_PARSE_ERRORS(L2TPGW_IKE_X)
#undef L2TPGW_IKE_X
  }
  return "?";
}

bool known_payload_type(std::uint8_t t) noexcept {
  return (t >= 1 && t <= 14) || t == 20 || t == 21 || t == 130 || t == 131 || t == 132;
}

std::string_view name(PayloadType t) noexcept {
  switch (t) {
    case PayloadType::none:
      return "NONE";
    case PayloadType::sa:
      return "SA";
    case PayloadType::proposal:
      return "P";
    case PayloadType::transform:
      return "T";
    case PayloadType::key_exchange:
      return "KE";
    case PayloadType::identification:
      return "ID";
    case PayloadType::certificate:
      return "CERT";
    case PayloadType::certificate_request:
      return "CR";
    case PayloadType::hash:
      return "HASH";
    case PayloadType::signature:
      return "SIG";
    case PayloadType::nonce:
      return "NONCE";
    case PayloadType::notification:
      return "N";
    case PayloadType::delete_:
      return "D";
    case PayloadType::vendor_id:
      return "VID";
    case PayloadType::attribute:
      return "ATTR";
    case PayloadType::nat_d:
      return "NAT-D";
    case PayloadType::nat_oa:
      return "NAT-OA";
    case PayloadType::nat_d_draft:
      return "NAT-D(draft)";
    case PayloadType::nat_oa_draft:
      return "NAT-OA(draft)";
    case PayloadType::fragment:
      return "FRAG";
  }
  return "?";
}

ParseError parse_header(ByteView msg, Header& out) noexcept {
  if (msg.size() < header_len) {
    return ParseError::truncated;
  }
  std::copy_n(msg.begin(), 8, out.icookie.begin());
  std::copy_n(msg.begin() + 8, 8, out.rcookie.begin());
  out.next_payload = msg[16];
  out.major = msg[17] >> 4;
  out.minor = msg[17] & 0x0F;
  out.exchange = msg[18];
  out.flags = msg[19];
  out.message_id = get32(msg, 20);
  out.length = get32(msg, 24);
  if (out.major != 1) {
    return ParseError::bad_version;
  }
  if (out.length < header_len) {
    return ParseError::lying_length;
  }
  if (out.length > msg.size()) {
    return ParseError::truncated;
  }
  return ParseError::none;
}

void write_header(const Header& h, std::span<std::uint8_t, header_len> out) noexcept {
  std::copy(h.icookie.begin(), h.icookie.end(), out.begin());
  std::copy(h.rcookie.begin(), h.rcookie.end(), out.begin() + 8);
  out[16] = h.next_payload;
  out[17] = static_cast<std::uint8_t>((h.major << 4) | (h.minor & 0x0F));
  out[18] = h.exchange;
  out[19] = h.flags;
  set32(out, 20, h.message_id);
  set32(out, 24, h.length);
}

ParseError walk_payloads(std::uint8_t first, ByteView chain, bool allow_padding,
                         std::vector<PayloadView>& out) {
  out.clear();
  std::uint8_t type = first;
  std::size_t off = 0;
  while (type != 0) {
    if (!known_payload_type(type)) {
      return ParseError::unknown_payload_type;
    }
    if (out.size() == max_payloads) {
      return ParseError::too_many_payloads;
    }
    if (chain.size() - off < generic_header_len) {
      return ParseError::truncated;
    }
    const std::uint16_t len = get16(chain, off + 2);
    if (len < generic_header_len || len > chain.size() - off) {
      return ParseError::lying_length;
    }
    const ByteView whole = chain.subspan(off, len);
    out.push_back({type, whole.subspan(generic_header_len), whole});
    type = chain[off];
    off += len;
  }
  if (off != chain.size() && !allow_padding) {
    return ParseError::trailing_bytes;
  }
  return ParseError::none;
}

const PayloadView* Message::find(PayloadType t) const noexcept {
  return find_payload(payloads, t);
}

const PayloadView* find_payload(const std::vector<PayloadView>& payloads, PayloadType t) noexcept {
  for (const auto& p : payloads) {
    if (p.type == static_cast<std::uint8_t>(t)) {
      return &p;
    }
  }
  return nullptr;
}

std::vector<ByteView> payload_bodies(const std::vector<PayloadView>& payloads, PayloadType t) {
  std::vector<ByteView> out;
  for (const auto& p : payloads) {
    if (p.type == static_cast<std::uint8_t>(t)) {
      out.push_back(p.body);
    }
  }
  return out;
}

ParseError parse_message(ByteView msg, Message& out) {
  if (const auto e = parse_header(msg, out.header); e != ParseError::none) {
    return e;
  }
  return walk_payloads(out.header.next_payload,
                       msg.subspan(header_len, out.header.length - header_len), false,
                       out.payloads);
}

MessageBuilder::MessageBuilder(const Header& h) : _bytes(header_len) {
  Header copy = h;
  copy.next_payload = 0;
  write_header(copy, std::span<std::uint8_t, header_len>(_bytes.data(), header_len));
}

void MessageBuilder::add(PayloadType type, ByteView body) {
  _bytes[_last_next] = static_cast<std::uint8_t>(type);
  _last_next = _bytes.size();
  _bytes.push_back(0);
  _bytes.push_back(0);
  put16(_bytes, static_cast<std::uint16_t>(generic_header_len + body.size()));
  _bytes.insert(_bytes.end(), body.begin(), body.end());
}

Bytes MessageBuilder::finish() && {
  set32(_bytes, 24, static_cast<std::uint32_t>(_bytes.size()));
  return std::move(_bytes);
}

// ---- attributes ----

std::optional<std::uint64_t> Attribute::integer() const noexcept {
  if (value.empty() || value.size() > 8) {
    return std::nullopt;
  }
  std::uint64_t v = 0;
  for (const auto b : value) {
    v = (v << 8) | b;
  }
  return v;
}

ParseError parse_attributes(ByteView data, std::vector<Attribute>& out) {
  out.clear();
  std::size_t off = 0;
  while (off < data.size()) {
    if (data.size() - off < 4) {
      return ParseError::bad_attribute;
    }
    const std::uint16_t af_type = get16(data, off);
    Attribute a;
    a.type = af_type & 0x7FFF;
    a.tv = (af_type & 0x8000) != 0;
    if (a.tv) {
      a.value = data.subspan(off + 2, 2);
      off += 4;
    } else {
      const std::uint16_t len = get16(data, off + 2);
      if (len > data.size() - off - 4) {
        return ParseError::bad_attribute;
      }
      a.value = data.subspan(off + 4, len);
      off += 4U + len;
    }
    out.push_back(a);
  }
  return ParseError::none;
}

void append_attribute_tv(Bytes& out, std::uint16_t type, std::uint16_t value) {
  put16(out, static_cast<std::uint16_t>(type | 0x8000));
  put16(out, value);
}

void append_attribute_tlv(Bytes& out, std::uint16_t type, ByteView value) {
  put16(out, type & 0x7FFF);
  put16(out, static_cast<std::uint16_t>(value.size()));
  out.insert(out.end(), value.begin(), value.end());
}

void append_attribute_int(Bytes& out, std::uint16_t type, std::uint32_t value) {
  if (value <= 0xFFFF) {
    append_attribute_tv(out, type, static_cast<std::uint16_t>(value));
    return;
  }
  Bytes v;
  put32(v, value);
  append_attribute_tlv(out, type, v);
}

// ---- SA / proposal / transform ----

const Attribute* Transform::find(std::uint16_t type) const noexcept {
  for (const auto& a : attributes) {
    if (a.type == type) {
      return &a;
    }
  }
  return nullptr;
}

namespace {

// Substructure chains inside an SA (RFC 2408 §3.5, §3.6): each element's
// Next Payload is `kind` or 0 for the last, and the chain fills `data`.
template <typename F>
ParseError walk_substructures(ByteView data, std::uint8_t kind, ParseError wrong_kind, F&& each) {
  std::size_t off = 0;
  std::size_t count = 0;
  while (true) {
    if (++count > max_payloads) {
      return ParseError::too_many_payloads;
    }
    if (data.size() - off < generic_header_len) {
      return ParseError::truncated;
    }
    const std::uint8_t next = data[off];
    const std::uint16_t len = get16(data, off + 2);
    if (len < generic_header_len || len > data.size() - off) {
      return ParseError::lying_length;
    }
    if (next != 0 && next != kind) {
      return wrong_kind;
    }
    if (const auto e = each(data.subspan(off, len)); e != ParseError::none) {
      return e;
    }
    off += len;
    if (next == 0) {
      break;
    }
  }
  return off == data.size() ? ParseError::none : ParseError::trailing_bytes;
}

ParseError parse_transform(ByteView whole, Transform& t) {
  if (whole.size() < 8) {
    return ParseError::truncated;
  }
  t.number = whole[4];
  t.id = whole[5];
  t.whole = whole;
  return parse_attributes(whole.subspan(8), t.attributes);
}

ParseError parse_proposal(ByteView whole, Proposal& p) {
  if (whole.size() < 8) {
    return ParseError::truncated;
  }
  p.number = whole[4];
  p.protocol = whole[5];
  const std::uint8_t spi_size = whole[6];
  const std::uint8_t n_transforms = whole[7];
  p.whole = whole;
  if (spi_size > whole.size() - 8) {
    return ParseError::bad_spi_size;
  }
  p.spi = whole.subspan(8, spi_size);
  const ByteView rest = whole.subspan(8U + spi_size);
  if (n_transforms == 0) {
    return ParseError::transform_count_mismatch;
  }
  const auto e = walk_substructures(rest, static_cast<std::uint8_t>(PayloadType::transform),
                                    ParseError::bad_transform_chain, [&](ByteView t_whole) {
                                      Transform t;
                                      const auto te = parse_transform(t_whole, t);
                                      p.transforms.push_back(std::move(t));
                                      return te;
                                    });
  if (e != ParseError::none) {
    return e;
  }
  return p.transforms.size() == n_transforms ? ParseError::none
                                             : ParseError::transform_count_mismatch;
}

}  // namespace

ParseError parse_sa(ByteView body, SecurityAssociation& out) {
  out.proposals.clear();
  if (body.size() < 8) {
    return ParseError::truncated;
  }
  out.doi = get32(body, 0);
  out.situation = get32(body, 4);
  if (out.doi != doi_ipsec) {
    return ParseError::bad_doi;
  }
  // RFC 2407 §4.2: secrecy and integrity situations add labelled-domain
  // fields that no client of a VPN gateway sends.
  if (out.situation != sit_identity_only) {
    return ParseError::bad_situation;
  }
  return walk_substructures(body.subspan(8), static_cast<std::uint8_t>(PayloadType::proposal),
                            ParseError::bad_proposal_chain, [&](ByteView p_whole) {
                              Proposal p;
                              const auto pe = parse_proposal(p_whole, p);
                              out.proposals.push_back(std::move(p));
                              return pe;
                            });
}

Bytes encode_sa(std::uint32_t doi, std::uint32_t situation,
                std::span<const ProposalSpec> proposals) {
  Bytes out;
  put32(out, doi);
  put32(out, situation);
  for (std::size_t i = 0; i < proposals.size(); ++i) {
    const auto& p = proposals[i];
    const std::size_t p_start = out.size();
    out.push_back(i + 1 < proposals.size() ? static_cast<std::uint8_t>(PayloadType::proposal) : 0);
    out.push_back(0);
    put16(out, 0);
    out.push_back(p.number);
    out.push_back(p.protocol);
    out.push_back(static_cast<std::uint8_t>(p.spi.size()));
    out.push_back(static_cast<std::uint8_t>(p.transforms.size()));
    out.insert(out.end(), p.spi.begin(), p.spi.end());
    for (std::size_t j = 0; j < p.transforms.size(); ++j) {
      const auto& t = p.transforms[j];
      out.push_back(j + 1 < p.transforms.size() ? static_cast<std::uint8_t>(PayloadType::transform)
                                                : 0);
      out.push_back(0);
      put16(out, static_cast<std::uint16_t>(8 + t.attributes.size()));
      out.push_back(t.number);
      out.push_back(t.id);
      put16(out, 0);
      out.insert(out.end(), t.attributes.begin(), t.attributes.end());
    }
    set16(out, p_start + 2, static_cast<std::uint16_t>(out.size() - p_start));
  }
  return out;
}

// ---- identification ----

std::uint32_t Identification::ipv4() const noexcept {
  return data.size() >= 4 ? get32(data, 0) : 0;
}

std::uint32_t Identification::ipv4_mask() const noexcept {
  return data.size() >= 8 ? get32(data, 4) : 0;
}

ParseError parse_id(ByteView body, Identification& out) noexcept {
  if (body.size() < 4) {
    return ParseError::truncated;
  }
  out.type = body[0];
  out.protocol = body[1];
  out.port = get16(body, 2);
  out.data = body.subspan(4);
  std::size_t want = 0;
  switch (static_cast<IdType>(out.type)) {
    case IdType::ipv4_addr:
      want = 4;
      break;
    case IdType::ipv4_addr_subnet:
    case IdType::ipv4_addr_range:
      want = 8;
      break;
    case IdType::ipv6_addr:
      want = 16;
      break;
    case IdType::ipv6_addr_subnet:
    case IdType::ipv6_addr_range:
      want = 32;
      break;
    case IdType::fqdn:
    case IdType::user_fqdn:
    case IdType::der_asn1_dn:
    case IdType::der_asn1_gn:
    case IdType::key_id:
      return out.data.empty() ? ParseError::bad_id : ParseError::none;
    default:
      return ParseError::bad_id;
  }
  return out.data.size() == want ? ParseError::none : ParseError::bad_id;
}

Bytes encode_id(IdType type, std::uint8_t protocol, std::uint16_t port, ByteView data) {
  Bytes out{static_cast<std::uint8_t>(type), protocol};
  put16(out, port);
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

// ---- certificates ----

ParseError parse_cert(ByteView body, Certificate& out) noexcept {
  if (body.size() < 2) {
    return body.empty() ? ParseError::truncated : ParseError::empty_payload;
  }
  out.encoding = body[0];
  out.data = body.subspan(1);
  return ParseError::none;
}

ParseError parse_cert_request(ByteView body, CertificateRequest& out) noexcept {
  if (body.empty()) {
    return ParseError::truncated;
  }
  out.type = body[0];
  out.authority = body.subspan(1);
  return ParseError::none;
}

Bytes encode_cert(std::uint8_t encoding, ByteView data) {
  Bytes out{encoding};
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

Bytes encode_cert_request(std::uint8_t type, ByteView authority) {
  Bytes out{type};
  out.insert(out.end(), authority.begin(), authority.end());
  return out;
}

ParseError parse_opaque(ByteView body) noexcept {
  return body.empty() ? ParseError::empty_payload : ParseError::none;
}

ParseError parse_nonce(ByteView body) noexcept {
  return body.size() < 8 || body.size() > 256 ? ParseError::bad_nonce : ParseError::none;
}

// ---- notification ----

std::string_view name(NotifyType t) noexcept {
  switch (t) {
    case NotifyType::invalid_payload_type:
      return "INVALID-PAYLOAD-TYPE";
    case NotifyType::doi_not_supported:
      return "DOI-NOT-SUPPORTED";
    case NotifyType::situation_not_supported:
      return "SITUATION-NOT-SUPPORTED";
    case NotifyType::invalid_cookie:
      return "INVALID-COOKIE";
    case NotifyType::invalid_major_version:
      return "INVALID-MAJOR-VERSION";
    case NotifyType::invalid_minor_version:
      return "INVALID-MINOR-VERSION";
    case NotifyType::invalid_exchange_type:
      return "INVALID-EXCHANGE-TYPE";
    case NotifyType::invalid_flags:
      return "INVALID-FLAGS";
    case NotifyType::invalid_message_id:
      return "INVALID-MESSAGE-ID";
    case NotifyType::invalid_protocol_id:
      return "INVALID-PROTOCOL-ID";
    case NotifyType::invalid_spi:
      return "INVALID-SPI";
    case NotifyType::invalid_transform_id:
      return "INVALID-TRANSFORM-ID";
    case NotifyType::attributes_not_supported:
      return "ATTRIBUTES-NOT-SUPPORTED";
    case NotifyType::no_proposal_chosen:
      return "NO-PROPOSAL-CHOSEN";
    case NotifyType::bad_proposal_syntax:
      return "BAD-PROPOSAL-SYNTAX";
    case NotifyType::payload_malformed:
      return "PAYLOAD-MALFORMED";
    case NotifyType::invalid_key_information:
      return "INVALID-KEY-INFORMATION";
    case NotifyType::invalid_id_information:
      return "INVALID-ID-INFORMATION";
    case NotifyType::invalid_cert_encoding:
      return "INVALID-CERT-ENCODING";
    case NotifyType::invalid_certificate:
      return "INVALID-CERTIFICATE";
    case NotifyType::cert_type_unsupported:
      return "CERT-TYPE-UNSUPPORTED";
    case NotifyType::invalid_cert_authority:
      return "INVALID-CERT-AUTHORITY";
    case NotifyType::invalid_hash_information:
      return "INVALID-HASH-INFORMATION";
    case NotifyType::authentication_failed:
      return "AUTHENTICATION-FAILED";
    case NotifyType::invalid_signature:
      return "INVALID-SIGNATURE";
    case NotifyType::address_notification:
      return "ADDRESS-NOTIFICATION";
    case NotifyType::notify_sa_lifetime:
      return "NOTIFY-SA-LIFETIME";
    case NotifyType::certificate_unavailable:
      return "CERTIFICATE-UNAVAILABLE";
    case NotifyType::unsupported_exchange_type:
      return "UNSUPPORTED-EXCHANGE-TYPE";
    case NotifyType::unequal_payload_lengths:
      return "UNEQUAL-PAYLOAD-LENGTHS";
    case NotifyType::connected:
      return "CONNECTED";
    case NotifyType::responder_lifetime:
      return "RESPONDER-LIFETIME";
    case NotifyType::replay_status:
      return "REPLAY-STATUS";
    case NotifyType::initial_contact:
      return "INITIAL-CONTACT";
    case NotifyType::dpd_r_u_there:
      return "R-U-THERE";
    case NotifyType::dpd_r_u_there_ack:
      return "R-U-THERE-ACK";
  }
  return "?";
}

std::optional<std::uint32_t> Notification::dpd_sequence() const noexcept {
  if ((type != static_cast<std::uint16_t>(NotifyType::dpd_r_u_there) &&
       type != static_cast<std::uint16_t>(NotifyType::dpd_r_u_there_ack)) ||
      data.size() != 4 || spi.size() != 16) {
    return std::nullopt;
  }
  return get32(data, 0);
}

ParseError parse_notification(ByteView body, Notification& out) noexcept {
  if (body.size() < 8) {
    return ParseError::truncated;
  }
  out.doi = get32(body, 0);
  out.protocol = body[4];
  const std::uint8_t spi_size = body[5];
  out.type = get16(body, 6);
  if (spi_size > body.size() - 8) {
    return ParseError::bad_spi_size;
  }
  out.spi = body.subspan(8, spi_size);
  out.data = body.subspan(8U + spi_size);
  return ParseError::none;
}

Bytes encode_notification(std::uint32_t doi, std::uint8_t protocol, NotifyType type, ByteView spi,
                          ByteView data) {
  Bytes out;
  put32(out, doi);
  out.push_back(protocol);
  out.push_back(static_cast<std::uint8_t>(spi.size()));
  put16(out, static_cast<std::uint16_t>(type));
  out.insert(out.end(), spi.begin(), spi.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

Bytes encode_dpd(NotifyType type, const Cookie& icookie, const Cookie& rcookie,
                 std::uint32_t sequence) {
  Bytes spi(icookie.begin(), icookie.end());
  spi.insert(spi.end(), rcookie.begin(), rcookie.end());
  Bytes seq;
  put32(seq, sequence);
  return encode_notification(doi_ipsec, static_cast<std::uint8_t>(ProtocolId::isakmp), type, spi,
                             seq);
}

// ---- delete ----

ParseError parse_delete(ByteView body, Delete& out) noexcept {
  if (body.size() < 8) {
    return ParseError::truncated;
  }
  out.doi = get32(body, 0);
  out.protocol = body[4];
  out.spi_size = body[5];
  out.count = get16(body, 6);
  out.spis = body.subspan(8);
  if (out.spi_size == 0 || out.count == 0 ||
      static_cast<std::size_t>(out.spi_size) * out.count != out.spis.size()) {
    return ParseError::bad_spi_size;
  }
  return ParseError::none;
}

Bytes encode_delete(std::uint32_t doi, std::uint8_t protocol, std::uint8_t spi_size,
                    std::span<const ByteView> spis) {
  Bytes out;
  put32(out, doi);
  out.push_back(protocol);
  out.push_back(spi_size);
  put16(out, static_cast<std::uint16_t>(spis.size()));
  for (const auto s : spis) {
    out.insert(out.end(), s.begin(), s.end());
  }
  return out;
}

// ---- NAT-OA ----

ParseError parse_nat_oa(ByteView body, NatOa& out) noexcept {
  if (body.size() < 4) {
    return ParseError::truncated;
  }
  out.id_type = body[0];
  out.address = body.subspan(4);
  const bool ok =
      (out.id_type == static_cast<std::uint8_t>(IdType::ipv4_addr) && out.address.size() == 4) ||
      (out.id_type == static_cast<std::uint8_t>(IdType::ipv6_addr) && out.address.size() == 16);
  return ok ? ParseError::none : ParseError::bad_nat_oa;
}

Bytes encode_nat_oa(ByteView address) {
  Bytes out{static_cast<std::uint8_t>(address.size() == 16 ? IdType::ipv6_addr : IdType::ipv4_addr),
            0, 0, 0};
  out.insert(out.end(), address.begin(), address.end());
  return out;
}

// ---- fragment ----

ParseError parse_fragment(ByteView body, Fragment& out) noexcept {
  if (body.size() < 4) {
    return ParseError::truncated;
  }
  out.id = get16(body, 0);
  out.number = body[2];
  out.last = (body[3] & 0x01) != 0;
  out.data = body.subspan(4);
  return out.number == 0 || out.data.empty() ? ParseError::bad_fragment : ParseError::none;
}

Bytes encode_fragment(std::uint16_t id, std::uint8_t number, bool last, ByteView data) {
  Bytes out;
  put16(out, id);
  out.push_back(number);
  out.push_back(last ? 0x01 : 0x00);
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

}  // namespace l2tpgw::ike
