#include "controlplane/ike/quick_mode.h"

#include <openssl/rand.h>

#include <algorithm>
#include <bit>

#include "controlplane/ike/cipher.h"
#include "controlplane/ike/wire_util.h"

namespace l2tpgw::ike {

std::string_view to_string(QuickModeFailure f) noexcept {
  switch (f) {
#define L2TPGW_IKE_X(e, s)  \
  case QuickModeFailure::e: \
    return s;
    L2TPGW_IKE_QM_FAILURES(L2TPGW_IKE_X)
#undef L2TPGW_IKE_X
  }
  return "?";
}

QuickModeRandom QuickModeRandom::fresh() {
  QuickModeRandom r;
  r.nonce.resize(32);
  std::uint8_t spi[4];
  // RFC 2406 §2.1: SPIs 1..255 are reserved by IANA.
  do {
    if (RAND_bytes(spi, sizeof spi) != 1 || RAND_bytes(r.nonce.data(), 32) != 1) {
      r.nonce.clear();  // handle() then fails the exchange as internal
      return r;
    }
    r.spi = get32(spi, 0);
  } while (r.spi < 256);
  return r;
}

std::string EspSaPair::describe() const {
  std::string s = "ESP " + std::string(info(cipher).name) + "/" + std::string(info(auth).name) +
                  (transport ? " transport" : " tunnel");
  s += udp_encapsulated ? ", NAT-T udp " + std::to_string(local.port) : ", no NAT-T";
  if (pfs) {
    s += ", PFS " + std::string(name(*pfs));
  }
  return s;
}

namespace {

const PayloadView* find_in(const std::vector<PayloadView>& payloads, PayloadType t) {
  for (const auto& p : payloads) {
    if (p.type == static_cast<std::uint8_t>(t)) {
      return &p;
    }
  }
  return nullptr;
}

// Every payload after the first (the HASH), generic headers included and
// the CBC padding excluded: what HASH(1), HASH(2) and the informational
// HASH cover (RFC 2409 §5.5, §5.7).
ByteView after_first(const std::vector<PayloadView>& payloads) {
  if (payloads.size() < 2) {
    return {};
  }
  const auto* begin = payloads[1].whole.data();
  const auto* end = payloads.back().whole.data() + payloads.back().whole.size();
  return {begin, static_cast<std::size_t>(end - begin)};
}

// The step of a failure, its cause the failure's name and the detail.
QuickModeStep failed_step(QuickModeFailure f, const std::string& detail) {
  QuickModeStep s;
  s.failure = f;
  s.cause = std::string(to_string(f));
  if (!detail.empty()) {
    s.cause += ": " + detail;
  }
  return s;
}

// A protected message (RFC 2409 §5.3) opened: decrypted under `iv`, its
// payloads walked, HASH first. The views point into `plain`.
struct Opened {
  enum class Stage : std::uint8_t { ok, decrypt, payloads, hash_first };
  Stage stage = Stage::ok;
  std::string why;  // what decryption or the walk said
  Bytes plain;
  SecretBytes next_iv;
  std::vector<PayloadView> payloads;
};

Opened open_protected(const IsakmpSa& isakmp, const Header& h, ByteView msg, ByteView iv) {
  const auto& suite = isakmp.transform.suite;
  Opened o;
  if (const auto e = decrypt_message(msg, suite.cipher, isakmp.enc_key, iv, o.plain, o.next_iv);
      e != CryptError::none) {
    o.stage = Opened::Stage::decrypt;
    o.why = std::string(to_string(e));
  } else if (const auto w = walk_payloads(h.next_payload, ByteView(o.plain).subspan(header_len),
                                          true, o.payloads);
             w != ParseError::none) {
    o.stage = Opened::Stage::payloads;
    o.why = std::string(to_string(w));
  } else if (o.payloads.empty() ||
             o.payloads[0].type != static_cast<std::uint8_t>(PayloadType::hash)) {
    o.stage = Opened::Stage::hash_first;
  }
  return o;
}

// The SA and Nonce every Quick Mode message 1 and 2 carries, read and
// checked; a failure names what is wrong.
struct SaAndNonce {
  QuickModeFailure failure = QuickModeFailure::none;
  std::string detail;
  SecurityAssociation sa;
  ByteView nonce;
};

SaAndNonce read_sa_and_nonce(const std::vector<PayloadView>& payloads, const char* message) {
  SaAndNonce r;
  const auto* sa_payload = find_in(payloads, PayloadType::sa);
  const auto* nonce = find_in(payloads, PayloadType::nonce);
  if (sa_payload == nullptr || nonce == nullptr) {
    r.failure = QuickModeFailure::missing_payload;
    r.detail = std::string("SA and Nonce in ") + message;
  } else if (parse_nonce(nonce->body) != ParseError::none) {
    r.failure = QuickModeFailure::malformed;
    r.detail = "nonce of " + std::to_string(nonce->body.size()) + " bytes";
  } else if (const auto e = parse_sa(sa_payload->body, r.sa); e != ParseError::none) {
    r.failure = QuickModeFailure::malformed;
    r.detail = "SA: " + std::string(to_string(e));
  } else {
    r.nonce = nonce->body;
  }
  return r;
}

std::uint32_t ipv4_of(const Address& a) {
  return a.len == 4 ? get32(std::span(a.bytes.data(), 4), 0) : 0;
}

std::string dotted(std::uint32_t a) {
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) + "." +
         std::to_string((a >> 8) & 255) + "." + std::to_string(a & 255);
}

std::string id_text(const Identification& id) {
  std::string s;
  switch (static_cast<IdType>(id.type)) {
    case IdType::ipv4_addr:
      s = dotted(id.ipv4());
      break;
    case IdType::ipv4_addr_subnet: {
      const auto m = id.ipv4_mask();
      s = dotted(id.ipv4()) + "/" + std::to_string(std::popcount(m));
      break;
    }
    case IdType::ipv4_addr_range:
      s = dotted(get32(id.data, 0)) + "-" + dotted(get32(id.data, 4));
      break;
    default:
      s = "ID type " + std::to_string(id.type);
  }
  return s + " proto " + std::to_string(id.protocol) + " port " + std::to_string(id.port);
}

// The address range an ID covers, for ipv4_addr, ipv4_addr_subnet and
// ipv4_addr_range (RFC 2407 §4.6.2.2-.4, .6); nullopt for other types.
std::optional<std::pair<std::uint32_t, std::uint32_t>> ipv4_range(const Identification& id) {
  switch (static_cast<IdType>(id.type)) {
    case IdType::ipv4_addr:
      return std::make_pair(id.ipv4(), id.ipv4());
    case IdType::ipv4_addr_subnet: {
      const auto net = id.ipv4() & id.ipv4_mask();
      return std::make_pair(net, net | ~id.ipv4_mask());
    }
    case IdType::ipv4_addr_range:
      if (id.data.size() == 8) {
        return std::make_pair(get32(id.data, 0), get32(id.data, 4));
      }
      return std::nullopt;
    default:
      return std::nullopt;
  }
}

constexpr std::uint8_t ipproto_udp = 17;

// The message with HASH first (placeholder), then `payloads`; the HASH is
// computed by `mac` over everything after it and patched in. Returns the
// plaintext message.
template <typename Mac>
Bytes with_hash(const Header& h, Hash hash, const std::vector<std::pair<PayloadType, Bytes>>& body,
                Mac&& mac) {
  MessageBuilder b(h);
  const Bytes placeholder(digest_len(hash), 0);
  b.add(PayloadType::hash, placeholder);
  for (const auto& [type, bytes] : body) {
    b.add(type, bytes);
  }
  Bytes msg = std::move(b).finish();
  const std::size_t hash_at = header_len + generic_header_len;
  const std::size_t after = hash_at + placeholder.size();
  const SecretBytes value = mac(ByteView(msg).subspan(after));
  std::copy(value.begin(), value.end(), msg.begin() + static_cast<std::ptrdiff_t>(hash_at));
  return msg;
}

}  // namespace

QuickModeResponder::QuickModeResponder(const IsakmpSa& isakmp, const QuickModeConfig& config,
                                       QuickModeRandom random)
    : _isakmp(isakmp), _config(config), _random(std::move(random)) {
}

QuickModeStep QuickModeResponder::fail(QuickModeFailure f, std::string detail) {
  QuickModeStep s = failed_step(f, detail);
  // A datagram that does not authenticate may be forged or damaged: it is
  // dropped and the exchange waits for the real one.
  if (f != QuickModeFailure::malformed && f != QuickModeFailure::unexpected_exchange &&
      f != QuickModeFailure::not_encrypted &&
      !(f == QuickModeFailure::bad_hash && _state == QuickModeState::wait_msg3)) {
    _state = QuickModeState::failed;
  }
  return s;
}

QuickModeStep QuickModeResponder::handle(const Datagram& d) {
  if (!_last_out.empty() && std::ranges::equal(d.bytes, _last_in)) {
    // The initiator did not get our HASH(2): the same reply again.
    return {_last_out, QuickModeFailure::none, {}};
  }
  if (_state == QuickModeState::established || _state == QuickModeState::failed) {
    return fail(QuickModeFailure::unexpected_exchange, "exchange already finished");
  }
  Header h;
  if (const auto e = parse_header(d.bytes, h); e != ParseError::none) {
    return fail(QuickModeFailure::malformed, std::string(to_string(e)));
  }
  if (h.exchange != static_cast<std::uint8_t>(ExchangeType::quick_mode) || h.message_id == 0 ||
      h.icookie != _isakmp.icookie || h.rcookie != _isakmp.rcookie ||
      (_state == QuickModeState::wait_msg3 && h.message_id != _message_id)) {
    return fail(QuickModeFailure::unexpected_exchange, {});
  }
  if ((h.flags & flag_encryption) == 0) {
    return fail(QuickModeFailure::not_encrypted, {});
  }
  return _state == QuickModeState::wait_msg1 ? msg1(d, h) : msg3(h, d.bytes);
}

std::optional<Ipv4Prefix> id_prefix(const Identification& id) {
  const auto range = ipv4_range(id);
  if (!range || range->first > range->second) {
    return std::nullopt;
  }
  if (static_cast<IdType>(id.type) == IdType::ipv4_addr_subnet &&
      std::countl_one(id.ipv4_mask()) != std::popcount(id.ipv4_mask())) {
    return std::nullopt;  // a mask with holes names no prefix
  }
  // The range's size must be a power of two and its start aligned to it.
  const std::uint32_t span = range->second - range->first;
  const auto len = static_cast<std::uint8_t>(32 - std::popcount(span));
  if ((span & (span + 1)) != 0 || (range->first & span) != 0) {
    return std::nullopt;
  }
  return Ipv4Prefix{range->first, len};
}

std::optional<Ipv4Prefix> id_prefix(ByteView id_payload_body) {
  Identification id;
  if (parse_id(id_payload_body, id) != ParseError::none) {
    return std::nullopt;
  }
  return id_prefix(id);
}

bool overlaps(const Ipv4Prefix& a, const Ipv4Prefix& b) noexcept {
  return a.contains(b.addr) || b.contains(a.addr);
}

bool covers(const Ipv4Prefix& outer, const Ipv4Prefix& inner) noexcept {
  return outer.len <= inner.len && outer.contains(inner.addr);
}

std::string QuickModeResponder::check_selectors(const Identification* ci,
                                                const Identification* cr) const {
  if (ci == nullptr && cr == nullptr) {
    // RFC 2409 §5.5: without IDs the SA protects the ISAKMP peers' traffic.
    return {};
  }
  if (ci == nullptr || cr == nullptr) {
    return "IDci without IDcr";
  }
  for (const auto* id : {ci, cr}) {
    if (id->protocol != 0 && id->protocol != ipproto_udp) {
      return id_text(*id) + ": only UDP (L2TP) is protected";
    }
  }
  if (cr->port != 0 && cr->port != l2tp_port) {
    return "IDcr " + id_text(*cr) + ": our port must be 1701 (RFC 3193 §4)";
  }
  const auto ci_range = ipv4_range(*ci);
  const auto cr_range = ipv4_range(*cr);
  if (!ci_range || !cr_range) {
    return "IDci " + id_text(*ci) + ", IDcr " + id_text(*cr) + ": IPv4 addresses expected";
  }
  const std::uint32_t local = ipv4_of(_isakmp.local);
  const std::uint32_t peer = ipv4_of(_isakmp.peer);
  if (!_isakmp.nat.local_behind_nat && (local < cr_range->first || local > cr_range->second)) {
    return "IDcr " + id_text(*cr) + " does not cover our address " + dotted(local);
  }
  // RFC 3193 §4: transport mode between the two hosts, one address each.
  if (ci_range->first != ci_range->second || cr_range->first != cr_range->second) {
    return "IDci " + id_text(*ci) + ", IDcr " + id_text(*cr) + ": transport mode takes host IDs";
  }
  if (ci_range->first != peer && !_isakmp.nat.peer_behind_nat) {
    return "IDci " + id_text(*ci) + " is not the peer's address " + dotted(peer);
  }
  return {};
}

// Tunnel mode carries whole IPv4 packets between the peer's network
// (IDci) and one behind our inside port (IDcr): the data plane routes by
// these networks and filters nothing else, so each must be a prefix, the
// ports and protocol open, ours configured, and the peer's no network of
// ours nor another peer's.
std::string QuickModeResponder::check_tunnel_selectors(const Identification* ci,
                                                       const Identification* cr) {
  if (ci == nullptr || cr == nullptr) {
    return "tunnel mode without IDci and IDcr: no inner networks to route";
  }
  for (const auto& [name, id] : {std::pair{"IDci ", ci}, std::pair{"IDcr ", cr}}) {
    if (id->protocol != 0 || id->port != 0) {
      return name + id_text(*id) + ": tunnel mode carries whole IPv4 packets (protocol and port 0)";
    }
  }
  const auto peer_net = id_prefix(*ci);
  const auto local_net = id_prefix(*cr);
  if (!peer_net || !local_net) {
    return (peer_net ? "IDcr " + id_text(*cr) : "IDci " + id_text(*ci)) + " is not an IPv4 prefix";
  }
  const auto& nets = _config.tunnel_networks;
  if (std::none_of(nets.begin(), nets.end(),
                   [&](const Ipv4Prefix& n) { return covers(n, *local_net); })) {
    return "IDcr " + id_text(*cr) + " is not in ike.tunnel_networks";
  }
  if (std::any_of(nets.begin(), nets.end(),
                  [&](const Ipv4Prefix& n) { return overlaps(n, *peer_net); })) {
    return "IDci " + id_text(*ci) + " overlaps ike.tunnel_networks";
  }
  const std::uint32_t local = ipv4_of(_isakmp.local);
  if (peer_net->contains(local)) {
    return "IDci " + id_text(*ci) + " covers our address " + dotted(local);
  }
  if (_config.tunnel_owner) {
    if (const auto owner = _config.tunnel_owner(_isakmp, *peer_net); !owner.empty()) {
      return "IDci " + id_text(*ci) + " overlaps the tunnel of " + owner;
    }
  }
  _result.peer_net = *peer_net;
  _result.local_net = *local_net;
  return {};
}

QuickModeStep QuickModeResponder::msg1(const Datagram& d, const Header& h) {
  const auto& suite = _isakmp.transform.suite;
  const auto iv = phase2_iv(suite.hash, _isakmp.last_block, h.message_id, suite.cipher.block());
  Opened o = open_protected(_isakmp, h, d.bytes, iv);
  switch (o.stage) {
    case Opened::Stage::decrypt:
      return fail(QuickModeFailure::malformed, o.why);
    case Opened::Stage::payloads:
      return fail(QuickModeFailure::malformed, "does not decrypt to payloads (" + o.why + ")");
    case Opened::Stage::hash_first:
      // RFC 2409 §5.5: HASH(1) is the first payload and covers all the others.
      return fail(QuickModeFailure::missing_payload, "HASH(1) first");
    case Opened::Stage::ok:
      break;
  }
  const auto& payloads = o.payloads;
  SecretBytes& next_iv = o.next_iv;
  const auto hash1 = qm_hash1(suite.hash, _isakmp.skeyid_a, h.message_id, after_first(payloads));
  if (!mac_equal(hash1, payloads[0].body)) {
    return fail(QuickModeFailure::bad_hash, "HASH(1)");
  }
  _message_id = h.message_id;
  _iv = std::move(next_iv);

  auto read = read_sa_and_nonce(payloads, "Quick Mode 1");
  if (read.failure != QuickModeFailure::none) {
    return fail(read.failure, read.detail);
  }
  const SecurityAssociation& sa = read.sa;

  // RFC 3947 §5.1: the UDP-encapsulated modes exactly when a NAT was found.
  const bool nat = _isakmp.nat.any();
  SecurityAssociation fitting = sa;
  for (auto& p : fitting.proposals) {
    std::erase_if(p.transforms, [&](const Transform& t) {
      return is_udp_encapsulated(decode_phase2(p, t).encapsulation) != nat;
    });
  }
  const auto match = match_phase2(fitting, _config.policy);
  if (!match.chosen) {
    const auto any = match_phase2(sa, _config.policy);
    if (any.chosen) {
      if (nat) {
        return fail(QuickModeFailure::nat_without_nat_t,
                    "a NAT is between us but the peer offered ESP without UDP encapsulation");
      }
      return fail(QuickModeFailure::no_proposal_chosen,
                  "UDP encapsulation offered but no NAT detected (RFC 3947 §5.1)");
    }
    return fail(QuickModeFailure::no_proposal_chosen,
                "offered [" + any.offered + "]; configured [" + any.configured + "]");
  }
  _result.transform = *match.chosen;
  const auto algs = to_dataplane(_result.transform.suite, _config.policy.sha256_icv_bits);
  if (!algs) {
    return fail(QuickModeFailure::internal, "chosen transform not in the data plane");
  }
  _result.cipher = algs->first;
  _result.auth = algs->second;
  _result.transport = is_transport(_result.transform.encapsulation);
  _result.udp_encapsulated = is_udp_encapsulated(_result.transform.encapsulation);
  _result.local = _isakmp.local;
  _result.peer = Address::of(d.peer);

  // Traffic selectors: IDci then IDcr (RFC 2409 §5.5).
  const PayloadView* ids[2] = {nullptr, nullptr};
  std::size_t n_ids = 0;
  for (const auto& p : payloads) {
    if (p.type == static_cast<std::uint8_t>(PayloadType::identification) && n_ids < 2) {
      ids[n_ids++] = &p;
    }
  }
  Identification idci, idcr;
  for (std::size_t i = 0; i < n_ids; ++i) {
    if (const auto e = parse_id(ids[i]->body, i == 0 ? idci : idcr); e != ParseError::none) {
      return fail(QuickModeFailure::malformed, "ID: " + std::string(to_string(e)));
    }
  }
  // Without NAT-T, a client address in IDci other than its source is
  // a NAT nobody detected: raw ESP will not cross it.
  if (n_ids == 2 && _isakmp.peer_caps.nat_t == NatTVariant::none && _result.transport &&
      (idci.type == static_cast<std::uint8_t>(IdType::ipv4_addr)) &&
      idci.ipv4() != ipv4_of(_isakmp.peer)) {
    return fail(
        QuickModeFailure::nat_without_nat_t,
        "IDci " + dotted(idci.ipv4()) + " but packets come from " + dotted(ipv4_of(_isakmp.peer)));
  }
  const Identification* ci = n_ids > 0 ? &idci : nullptr;
  const Identification* cr = n_ids > 1 ? &idcr : nullptr;
  if (auto why = _result.transport ? check_selectors(ci, cr) : check_tunnel_selectors(ci, cr);
      !why.empty()) {
    return fail(QuickModeFailure::traffic_selectors, why);
  }
  if (n_ids == 2) {
    _result.idci.assign(ids[0]->body.begin(), ids[0]->body.end());
    _result.idcr.assign(ids[1]->body.begin(), ids[1]->body.end());
  }
  std::vector<ByteView> nat_oas;
  for (const auto& p : payloads) {
    if (p.type == static_cast<std::uint8_t>(PayloadType::nat_oa) ||
        p.type == static_cast<std::uint8_t>(PayloadType::nat_oa_draft)) {
      NatOa oa;
      if (const auto e = parse_nat_oa(p.body, oa); e != ParseError::none) {
        return fail(QuickModeFailure::malformed, "NAT-OA: " + std::string(to_string(e)));
      }
      nat_oas.push_back(p.body);
      if (nat_oas.size() == 1 && oa.address.size() == 4) {
        _result.nat_oa_initiator = get32(oa.address, 0);
      }
    }
  }

  // PFS (RFC 2409 §5.5): a KE exactly when the transform names a group.
  const auto* ke = find_in(payloads, PayloadType::key_exchange);
  SecretBytes gxy_qm;
  std::optional<DhKeyPair> dh;
  if (_result.transform.pfs_group) {
    const auto group = *_result.transform.pfs_group;
    if (ke == nullptr) {
      return fail(QuickModeFailure::invalid_ke, "PFS group offered without KE");
    }
    if (ke->body.size() != public_value_len(group)) {
      return fail(QuickModeFailure::invalid_ke, "KE of " + std::to_string(ke->body.size()) +
                                                    " bytes for " + std::string(name(group)));
    }
    dh = _random.dh_private.empty() ? DhKeyPair::generate(group)
                                    : DhKeyPair::from_private(group, _random.dh_private);
    if (!dh) {
      return fail(QuickModeFailure::internal, "DH key generation");
    }
    if (const auto e = dh->shared_secret(ke->body, gxy_qm); e != DhError::none) {
      return fail(QuickModeFailure::invalid_ke, std::string(to_string(e)));
    }
    _result.pfs = group;
  } else if (ke != nullptr) {
    return fail(QuickModeFailure::invalid_ke, "KE without a PFS group attribute");
  }
  if (_random.nonce.size() < 8 || _random.nonce.size() > 256 || _random.spi < 256) {
    return fail(QuickModeFailure::internal, "no responder nonce or SPI");
  }

  // Lifetimes: the peer's, or the RFC 2407 §4.5 default, cut to our maxima.
  Bytes lifetime_attrs;
  _result.life_seconds = _result.transform.life_seconds != 0 ? _result.transform.life_seconds
                                                             : _config.default_life_seconds;
  if (_config.max_life_seconds != 0 && _result.life_seconds > _config.max_life_seconds) {
    _result.life_seconds = _config.max_life_seconds;
    append_attribute_tv(lifetime_attrs, p2_attr::life_type, life_seconds_type);
    append_attribute_int(lifetime_attrs, p2_attr::life_duration, _result.life_seconds);
  }
  _result.life_kilobytes = _result.transform.life_kilobytes;
  if (_config.max_life_kilobytes != 0 &&
      (_result.life_kilobytes == 0 || _result.life_kilobytes > _config.max_life_kilobytes)) {
    _result.life_kilobytes = _config.max_life_kilobytes;
    append_attribute_tv(lifetime_attrs, p2_attr::life_type, life_kilobytes_type);
    append_attribute_int(lifetime_attrs, p2_attr::life_duration, _result.life_kilobytes);
  }

  _ni_b.assign(read.nonce.begin(), read.nonce.end());
  const auto& nr_b = _random.nonce;
  Bytes our_spi;
  put32(our_spi, _random.spi);
  _result.inbound.spi = _random.spi;
  _result.outbound.spi = _result.transform.spi;
  {
    auto in = esp_keys(suite.hash, _isakmp.skeyid_d, gxy_qm, _result.inbound.spi, _ni_b, nr_b,
                       _result.cipher, _result.auth);
    auto out = esp_keys(suite.hash, _isakmp.skeyid_d, gxy_qm, _result.outbound.spi, _ni_b, nr_b,
                        _result.cipher, _result.auth);
    _result.inbound.enc_key = std::move(in.enc);
    _result.inbound.auth_key = std::move(in.auth);
    _result.outbound.enc_key = std::move(out.enc);
    _result.outbound.auth_key = std::move(out.auth);
  }

  // Quick Mode 2: HDR*, HASH(2), SA, Nr, [KE], [IDci, IDcr], [N], [NAT-OA].
  std::vector<std::pair<PayloadType, Bytes>> body;
  body.emplace_back(PayloadType::sa, reply_sa(sa, *match.proposal, *match.transform, our_spi));
  body.emplace_back(PayloadType::nonce, nr_b);
  if (dh) {
    const auto pub = dh->public_value();
    body.emplace_back(PayloadType::key_exchange, Bytes(pub.begin(), pub.end()));
  }
  if (n_ids == 2) {
    body.emplace_back(PayloadType::identification, _result.idci);
    body.emplace_back(PayloadType::identification, _result.idcr);
  }
  if (!lifetime_attrs.empty()) {
    body.emplace_back(PayloadType::notification,
                      encode_notification(doi_ipsec, static_cast<std::uint8_t>(ProtocolId::esp),
                                          NotifyType::responder_lifetime, our_spi, lifetime_attrs));
  }
  if (!nat_oas.empty()) {
    // RFC 3947 §5.2: NAT-OAi and NAT-OAr as we see them.
    const auto oa_type = natoa_payload(_isakmp.peer_caps.nat_t);
    body.emplace_back(oa_type, encode_nat_oa(d.peer.address));
    body.emplace_back(oa_type, encode_nat_oa(d.local.address));
  }
  Header rh;
  rh.icookie = _isakmp.icookie;
  rh.rcookie = _isakmp.rcookie;
  rh.exchange = static_cast<std::uint8_t>(ExchangeType::quick_mode);
  rh.message_id = _message_id;
  Bytes reply = with_hash(rh, suite.hash, body, [&](ByteView after) {
    return qm_hash2(suite.hash, _isakmp.skeyid_a, _message_id, _ni_b, after);
  });
  SecretBytes iv_after;
  if (encrypt_message(reply, suite.cipher, _isakmp.enc_key, _iv, iv_after) != CryptError::none) {
    return fail(QuickModeFailure::internal, "encrypting Quick Mode 2");
  }
  _iv = std::move(iv_after);
  _last_in.assign(d.bytes.begin(), d.bytes.end());
  _last_out = reply;
  _state = QuickModeState::wait_msg3;
  return {std::move(reply), QuickModeFailure::none, {}};
}

QuickModeStep QuickModeResponder::msg3(const Header& h, ByteView msg) {
  const auto& suite = _isakmp.transform.suite;
  const Opened o = open_protected(_isakmp, h, msg, _iv);
  if (o.stage == Opened::Stage::decrypt) {
    return fail(QuickModeFailure::malformed, o.why);
  }
  if (o.stage != Opened::Stage::ok) {
    return fail(QuickModeFailure::bad_hash, "Quick Mode 3 does not decrypt to HASH(3)");
  }
  const auto& payloads = o.payloads;
  const auto hash3 = qm_hash3(suite.hash, _isakmp.skeyid_a, _message_id, _ni_b, _random.nonce);
  if (!mac_equal(hash3, payloads[0].body)) {
    return fail(QuickModeFailure::bad_hash, "HASH(3)");
  }
  _state = QuickModeState::established;
  return {};
}

// ---- initiator (a rekey we start) ----

QuickModeInitiator::QuickModeInitiator(const IsakmpSa& isakmp, const EspSaPair& basis,
                                       std::uint32_t message_id, QuickModeRandom random)
    : _isakmp(isakmp), _random(std::move(random)), _message_id(message_id) {
  _result.transform = basis.transform;
  _result.cipher = basis.cipher;
  _result.auth = basis.auth;
  _result.transport = basis.transport;
  _result.udp_encapsulated = basis.udp_encapsulated;
  _result.local = basis.local;
  _result.peer = basis.peer;
  _result.life_seconds = basis.life_seconds;
  _result.life_kilobytes = basis.life_kilobytes;
  _result.pfs = basis.pfs;
  _result.idci = basis.idci;
  _result.idcr = basis.idcr;
  _result.nat_oa_initiator = basis.nat_oa_initiator;
  _result.peer_net = basis.peer_net;
  _result.local_net = basis.local_net;
}

QuickModeStep QuickModeInitiator::fail(QuickModeFailure f, std::string detail) {
  QuickModeStep s = failed_step(f, detail);
  // What does not authenticate may be forged: the exchange waits on.
  if (f != QuickModeFailure::malformed && f != QuickModeFailure::unexpected_exchange &&
      f != QuickModeFailure::not_encrypted && f != QuickModeFailure::bad_hash) {
    _state = QuickModeState::failed;
  }
  return s;
}

QuickModeStep QuickModeInitiator::start() {
  if (_state != QuickModeState::wait_msg1 || _random.nonce.size() < 8 || _random.spi < 256 ||
      _message_id == 0) {
    return fail(QuickModeFailure::internal, "no nonce, SPI or message ID for a rekey");
  }
  const auto& suite = _isakmp.transform.suite;
  _result.inbound.spi = _random.spi;
  std::vector<std::pair<PayloadType, Bytes>> body;
  body.emplace_back(PayloadType::sa, offer_sa(_result.transform, _random.spi, _result.life_seconds,
                                              _result.life_kilobytes));
  body.emplace_back(PayloadType::nonce, _random.nonce);
  if (_result.pfs) {
    _dh = _random.dh_private.empty() ? DhKeyPair::generate(*_result.pfs)
                                     : DhKeyPair::from_private(*_result.pfs, _random.dh_private);
    if (!_dh) {
      return fail(QuickModeFailure::internal, "DH key generation");
    }
    const auto pub = _dh->public_value();
    body.emplace_back(PayloadType::key_exchange, Bytes(pub.begin(), pub.end()));
  }
  if (!_result.idci.empty() && !_result.idcr.empty()) {
    // We are the initiator now: our selector goes first.
    body.emplace_back(PayloadType::identification, _result.idcr);
    body.emplace_back(PayloadType::identification, _result.idci);
  }
  if (_result.transport && _result.udp_encapsulated) {
    // RFC 3947 §5.2: in transport mode the initiator sends both original
    // addresses, NAT-OAi (ours) and NAT-OAr (the peer as we see it).
    const auto oa_type = natoa_payload(_isakmp.peer_caps.nat_t);
    body.emplace_back(oa_type, encode_nat_oa(_isakmp.local.endpoint().address));
    body.emplace_back(oa_type, encode_nat_oa(_isakmp.peer.endpoint().address));
  }
  Header h;
  h.icookie = _isakmp.icookie;
  h.rcookie = _isakmp.rcookie;
  h.exchange = static_cast<std::uint8_t>(ExchangeType::quick_mode);
  h.message_id = _message_id;
  Bytes msg = with_hash(h, suite.hash, body, [&](ByteView after) {
    return qm_hash1(suite.hash, _isakmp.skeyid_a, _message_id, after);
  });
  const auto iv = phase2_iv(suite.hash, _isakmp.last_block, _message_id, suite.cipher.block());
  SecretBytes iv_after;
  if (encrypt_message(msg, suite.cipher, _isakmp.enc_key, iv, iv_after) != CryptError::none) {
    return fail(QuickModeFailure::internal, "encrypting Quick Mode 1");
  }
  _iv = std::move(iv_after);
  _state = QuickModeState::wait_msg2;
  return {std::move(msg), QuickModeFailure::none, {}};
}

QuickModeStep QuickModeInitiator::handle(const Datagram& d) {
  if (!_last_out.empty() && std::ranges::equal(d.bytes, _last_in)) {
    // The responder did not get our HASH(3): the same again.
    return {_last_out, QuickModeFailure::none, {}};
  }
  if (_state != QuickModeState::wait_msg2) {
    return fail(QuickModeFailure::unexpected_exchange, "exchange not waiting for message 2");
  }
  Header h;
  if (const auto e = parse_header(d.bytes, h); e != ParseError::none) {
    return fail(QuickModeFailure::malformed, std::string(to_string(e)));
  }
  if (h.exchange != static_cast<std::uint8_t>(ExchangeType::quick_mode) ||
      h.message_id != _message_id || h.icookie != _isakmp.icookie ||
      h.rcookie != _isakmp.rcookie) {
    return fail(QuickModeFailure::unexpected_exchange, {});
  }
  if ((h.flags & flag_encryption) == 0) {
    return fail(QuickModeFailure::not_encrypted, {});
  }
  const auto& suite = _isakmp.transform.suite;
  const Opened o = open_protected(_isakmp, h, d.bytes, _iv);
  if (o.stage == Opened::Stage::decrypt) {
    return fail(QuickModeFailure::malformed, o.why);
  }
  if (o.stage != Opened::Stage::ok) {
    return fail(QuickModeFailure::bad_hash, "Quick Mode 2 does not decrypt to HASH(2)");
  }
  const auto& payloads = o.payloads;
  const auto hash2 =
      qm_hash2(suite.hash, _isakmp.skeyid_a, _message_id, _random.nonce, after_first(payloads));
  if (!mac_equal(hash2, payloads[0].body)) {
    return fail(QuickModeFailure::bad_hash, "HASH(2)");
  }
  const auto read = read_sa_and_nonce(payloads, "Quick Mode 2");
  if (read.failure != QuickModeFailure::none) {
    return fail(read.failure, read.detail);
  }
  const SecurityAssociation& sa = read.sa;
  if (sa.proposals.size() != 1 || sa.proposals[0].transforms.size() != 1) {
    return fail(QuickModeFailure::no_proposal_chosen,
                "Quick Mode 2 must choose one proposal with one transform");
  }
  const auto chosen = decode_phase2(sa.proposals[0], sa.proposals[0].transforms[0]);
  const auto& want = _result.transform;
  if (!chosen.problem.empty() || !(chosen.suite == want.suite) ||
      chosen.encapsulation != want.encapsulation || chosen.pfs_group != want.pfs_group) {
    return fail(QuickModeFailure::no_proposal_chosen,
                "offered [" + want.describe() + "]; chosen [" + chosen.describe() + "]");
  }
  if (chosen.spi < 256) {
    return fail(QuickModeFailure::malformed, "responder SPI " + std::to_string(chosen.spi));
  }
  SecretBytes gxy_qm;
  const auto* ke = find_in(payloads, PayloadType::key_exchange);
  if (_dh) {
    if (ke == nullptr || ke->body.size() != public_value_len(_dh->group())) {
      return fail(QuickModeFailure::invalid_ke, "PFS without a KE of the group in Quick Mode 2");
    }
    if (const auto e = _dh->shared_secret(ke->body, gxy_qm); e != DhError::none) {
      return fail(QuickModeFailure::invalid_ke, std::string(to_string(e)));
    }
  } else if (ke != nullptr) {
    return fail(QuickModeFailure::invalid_ke, "KE without PFS");
  }
  const ByteView nr_b = read.nonce;
  _result.outbound.spi = chosen.spi;
  _result.transform.spi = chosen.spi;
  auto in = esp_keys(suite.hash, _isakmp.skeyid_d, gxy_qm, _result.inbound.spi, _random.nonce,
                     nr_b, _result.cipher, _result.auth);
  auto out = esp_keys(suite.hash, _isakmp.skeyid_d, gxy_qm, _result.outbound.spi, _random.nonce,
                      nr_b, _result.cipher, _result.auth);
  _result.inbound.enc_key = std::move(in.enc);
  _result.inbound.auth_key = std::move(in.auth);
  _result.outbound.enc_key = std::move(out.enc);
  _result.outbound.auth_key = std::move(out.auth);

  // Quick Mode 3: HDR*, HASH(3).
  Header rh = h;
  rh.next_payload = 0;
  rh.flags = 0;
  MessageBuilder b(rh);
  b.add(PayloadType::hash, qm_hash3(suite.hash, _isakmp.skeyid_a, _message_id, _random.nonce, nr_b));
  Bytes reply = std::move(b).finish();
  SecretBytes unused;
  if (encrypt_message(reply, suite.cipher, _isakmp.enc_key, o.next_iv, unused) != CryptError::none) {
    return fail(QuickModeFailure::internal, "encrypting Quick Mode 3");
  }
  _last_in.assign(d.bytes.begin(), d.bytes.end());
  _last_out = reply;
  _state = QuickModeState::established;
  return {std::move(reply), QuickModeFailure::none, {}};
}

// ---- informational ----

std::optional<Bytes> build_informational(const IsakmpSa& isakmp, std::uint32_t message_id,
                                         PayloadType type, ByteView body) {
  const auto& suite = isakmp.transform.suite;
  Header h;
  h.icookie = isakmp.icookie;
  h.rcookie = isakmp.rcookie;
  h.exchange = static_cast<std::uint8_t>(ExchangeType::informational);
  h.message_id = message_id;
  Bytes msg =
      with_hash(h, suite.hash, {{type, Bytes(body.begin(), body.end())}}, [&](ByteView after) {
        return informational_hash(suite.hash, isakmp.skeyid_a, message_id, after);
      });
  const auto iv = phase2_iv(suite.hash, isakmp.last_block, message_id, suite.cipher.block());
  SecretBytes unused;
  if (encrypt_message(msg, suite.cipher, isakmp.enc_key, iv, unused) != CryptError::none) {
    return std::nullopt;
  }
  return msg;
}

InformationalResult handle_informational(const IsakmpSa& isakmp, ByteView msg,
                                         std::uint32_t reply_message_id) {
  InformationalResult r;
  Header h;
  if (const auto e = parse_header(msg, h); e != ParseError::none) {
    r.failure = std::string(to_string(e));
    return r;
  }
  if (h.exchange != static_cast<std::uint8_t>(ExchangeType::informational) ||
      h.icookie != isakmp.icookie || h.rcookie != isakmp.rcookie || h.message_id == 0) {
    r.failure = "not an informational message of this ISAKMP SA";
    return r;
  }
  // RFC 2409 §5.7: after phase 1, informational exchanges are protected;
  // plaintext notifications could be forged by anyone on the path.
  if ((h.flags & flag_encryption) == 0) {
    r.failure = "unencrypted informational message";
    return r;
  }
  const auto& suite = isakmp.transform.suite;
  const auto iv = phase2_iv(suite.hash, isakmp.last_block, h.message_id, suite.cipher.block());
  const Opened o = open_protected(isakmp, h, msg, iv);
  if (o.stage == Opened::Stage::decrypt) {
    r.failure = o.why;
    return r;
  }
  const auto& payloads = o.payloads;
  if (o.stage != Opened::Stage::ok || payloads.size() < 2) {
    r.failure = "does not decrypt to HASH and payloads";
    return r;
  }
  const auto expected =
      informational_hash(suite.hash, isakmp.skeyid_a, h.message_id, after_first(payloads));
  if (!mac_equal(expected, payloads[0].body)) {
    r.failure = "HASH(1) does not verify";
    return r;
  }
  for (std::size_t i = 1; i < payloads.size(); ++i) {
    const auto& p = payloads[i];
    if (p.type == static_cast<std::uint8_t>(PayloadType::notification)) {
      Notification n;
      if (parse_notification(p.body, n) != ParseError::none) {
        continue;
      }
      const auto type = static_cast<NotifyType>(n.type);
      if (type == NotifyType::dpd_r_u_there || type == NotifyType::dpd_r_u_there_ack) {
        const auto seq = n.dpd_sequence();
        if (!seq) {
          continue;
        }
        r.dpd_sequence = seq;
        if (type == NotifyType::dpd_r_u_there) {
          // RFC 3706 §5.1: the ACK echoes the sequence number.
          r.reply = build_informational(
              isakmp, reply_message_id, PayloadType::notification,
              encode_dpd(NotifyType::dpd_r_u_there_ack, isakmp.icookie, isakmp.rcookie, *seq));
        }
      } else if (type == NotifyType::initial_contact) {
        r.initial_contact = true;
      } else if (n.is_error()) {
        r.errors.push_back(n.type);
      }
    } else if (p.type == static_cast<std::uint8_t>(PayloadType::delete_)) {
      Delete del;
      if (parse_delete(p.body, del) != ParseError::none) {
        continue;
      }
      if (del.protocol == static_cast<std::uint8_t>(ProtocolId::isakmp)) {
        // RFC 2408 §3.15: the ISAKMP SA is named by its two cookies.
        for (std::size_t k = 0; k < del.count && del.spi_size == 16; ++k) {
          const auto spi = del.spi(k);
          r.delete_isakmp |=
              std::equal(isakmp.icookie.begin(), isakmp.icookie.end(), spi.begin()) &&
              std::equal(isakmp.rcookie.begin(), isakmp.rcookie.end(), spi.begin() + 8);
        }
      } else if (del.protocol == static_cast<std::uint8_t>(ProtocolId::esp) && del.spi_size == 4) {
        for (std::size_t k = 0; k < del.count; ++k) {
          r.deleted_esp_spis.push_back(get32(del.spi(k), 0));
        }
      }
    }
  }
  return r;
}

}  // namespace l2tpgw::ike
