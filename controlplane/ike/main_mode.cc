#include "controlplane/ike/main_mode.h"

#include <openssl/rand.h>

#include <algorithm>

#include "controlplane/ike/cipher.h"

namespace l2tpgw::ike {

std::string_view to_string(MainModeFailure f) noexcept {
  switch (f) {
#define L2TPGW_IKE_X(e, s) \
  case MainModeFailure::e: \
    return s;
    L2TPGW_IKE_MM_FAILURES(L2TPGW_IKE_X)
#undef L2TPGW_IKE_X
  }
  return "?";
}

Address Address::of(Endpoint e) noexcept {
  Address a;
  a.len = static_cast<std::uint8_t>(std::min<std::size_t>(e.address.size(), a.bytes.size()));
  std::copy_n(e.address.begin(), a.len, a.bytes.begin());
  a.port = e.port;
  return a;
}

MainModeRandom MainModeRandom::fresh() {
  MainModeRandom r;
  r.nonce.resize(32);
  if (RAND_bytes(r.rcookie.data(), static_cast<int>(r.rcookie.size())) != 1 ||
      RAND_bytes(r.nonce.data(), static_cast<int>(r.nonce.size())) != 1) {
    r.nonce.clear();  // handle() then fails the exchange as internal
  }
  return r;
}

MainModeResponder::MainModeResponder(const MainModeConfig& config, MainModeRandom random)
    : _config(config), _random(std::move(random)) {
  _sa.rcookie = _random.rcookie;
}

MainModeResponder::MainModeResponder(const MainModeConfig& config, IsakmpSa established)
    : _config(config), _state(MainModeState::established), _sa(std::move(established)) {
  // The parsed ID points into the bytes it came from: into ours now.
  if (parse_id(_sa.peer_id_bytes, _sa.peer_id) != ParseError::none) {
    _sa.peer_id = {};
  }
}

std::string MainModeResponder::peer_identity() const {
  return _sa.peer_id_bytes.empty() ? std::string() : identity_text(_sa.peer_id);
}

Header phase1_header(const IsakmpSa& sa) {
  Header h;
  h.icookie = sa.icookie;
  h.rcookie = sa.rcookie;
  h.exchange =
      static_cast<std::uint8_t>(sa.aggressive ? ExchangeType::aggressive : ExchangeType::main_mode);
  return h;
}

std::string parse_clear(ByteView msg, const Header& h, Message& m) {
  if ((h.flags & flag_encryption) != 0) {
    return "encrypted before keys exist";
  }
  if (const auto e = parse_message(msg, m); e != ParseError::none) {
    return std::string(to_string(e));
  }
  return {};
}

MainModeStep failed_step(MainModeFailure f, const std::string& detail) {
  MainModeStep s;
  s.failure = f;
  s.cause = std::string(to_string(f));
  if (!detail.empty()) {
    s.cause += ": " + detail;
  }
  return s;
}

Header MainModeResponder::reply_header() const {
  return phase1_header(_sa);
}

MainModeStep MainModeResponder::fail(MainModeFailure f, std::string detail) {
  MainModeStep s = failed_step(f, detail);
  // Malformed or misdirected datagrams are dropped without ending the
  // exchange, so a forged packet cannot tear down a client's negotiation.
  if (f != MainModeFailure::malformed && f != MainModeFailure::unexpected_exchange &&
      f != MainModeFailure::bad_cookie) {
    _state = MainModeState::failed;
  }
  return s;
}

MainModeStep MainModeResponder::handle(const Datagram& d) {
  if (!_last_out.empty() && std::ranges::equal(d.bytes, _last_in)) {
    // RFC 2408 §5 leaves retransmission to the implementation: a repeated
    // message gets the same answer, nothing is recomputed.
    return {_last_out, MainModeFailure::none, {}};
  }
  if (_state == MainModeState::established || _state == MainModeState::failed) {
    return fail(MainModeFailure::unexpected_exchange, "exchange already finished");
  }
  Header h;
  if (const auto e = parse_header(d.bytes, h); e != ParseError::none) {
    return fail(MainModeFailure::malformed, std::string(to_string(e)));
  }
  const bool aggressive = h.exchange == static_cast<std::uint8_t>(ExchangeType::aggressive);
  // The mode is set by message 1 and kept to the end.
  if ((!aggressive && h.exchange != static_cast<std::uint8_t>(ExchangeType::main_mode)) ||
      h.message_id != 0 || (_state != MainModeState::wait_msg1 && aggressive != _sa.aggressive)) {
    return fail(MainModeFailure::unexpected_exchange,
                "exchange type " + std::to_string(h.exchange));
  }
  const bool zero_rcookie =
      std::all_of(h.rcookie.begin(), h.rcookie.end(), [](std::uint8_t b) { return b == 0; });
  if (_state == MainModeState::wait_msg1 ? !zero_rcookie
                                         : (h.icookie != _sa.icookie || h.rcookie != _sa.rcookie)) {
    return fail(MainModeFailure::bad_cookie, {});
  }
  MainModeStep step;
  if (_state == MainModeState::wait_msg5) {
    step = msg5(d, h);
  } else if (_sa.aggressive && _state == MainModeState::wait_msg3) {
    step = aggressive3(d, h);
  } else {
    Message m;
    if (auto why = parse_clear(d.bytes, h, m); !why.empty()) {
      return fail(MainModeFailure::malformed, why);
    }
    if (_state == MainModeState::wait_msg1) {
      _sa.aggressive = aggressive;
      step = aggressive ? aggressive1(d, m) : msg1(d, m);
    } else {
      step = msg3(d, m);
    }
  }
  if (step.reply && step.failure == MainModeFailure::none) {
    _last_in.assign(d.bytes.begin(), d.bytes.end());
    _last_out = *step.reply;
  }
  return step;
}

MainModeStep MainModeResponder::msg1(const Datagram& d, const Message& m) {
  // Only the methods this source may use (a peer configured for one
  // method never negotiates the other).
  AuthMethods methods;
  if (_config.methods_for) {
    methods = _config.methods_for(d.peer);
  }
  Bytes reply_sa;
  if (auto failed = choose(m, methods, reply_sa)) {
    return std::move(*failed);
  }
  MessageBuilder b(reply_header());
  b.add(PayloadType::sa, reply_sa);
  for (const auto& vid : responder_vendor_ids(_sa.peer_caps)) {
    b.add(PayloadType::vendor_id, vid);
  }
  _state = MainModeState::wait_msg3;
  return {std::move(b).finish(), MainModeFailure::none, {}};
}

std::optional<MainModeStep> MainModeResponder::choose(const Message& m, AuthMethods methods,
                                                      Bytes& reply_sa) {
  const auto* sa_payload = m.find(PayloadType::sa);
  if (sa_payload == nullptr) {
    return fail(MainModeFailure::missing_payload, "SA in message 1");
  }
  SecurityAssociation sa;
  if (const auto e = parse_sa(sa_payload->body, sa); e != ParseError::none) {
    return fail(MainModeFailure::malformed, "SA: " + std::string(to_string(e)));
  }
  _sa.icookie = m.header.icookie;
  if (!_config.trust || !_config.credential || !_config.wall_clock) {
    methods.rsa = false;
  }
  Phase1Policy allowed = _config.policy;
  std::erase_if(allowed.suites, [&](const Phase1Suite& s) {
    return s.auth == AuthMethod::psk ? !methods.psk : !methods.rsa;
  });
  const auto match = match_phase1(sa, allowed);
  if (!match.chosen) {
    auto step = fail(MainModeFailure::no_proposal_chosen,
                     "offered [" + match.offered + "]; configured [" + match.configured + "]");
    // RFC 2408 §3.14.1: tell the initiator, in the clear (no keys yet).
    Header h = reply_header();
    h.exchange = static_cast<std::uint8_t>(ExchangeType::informational);
    MessageBuilder b(h);
    Bytes spi(_sa.icookie.begin(), _sa.icookie.end());
    spi.insert(spi.end(), _sa.rcookie.begin(), _sa.rcookie.end());
    b.add(PayloadType::notification,
          encode_notification(doi_ipsec, static_cast<std::uint8_t>(ProtocolId::isakmp),
                              NotifyType::no_proposal_chosen, spi, {}));
    step.reply = std::move(b).finish();
    return step;
  }
  _sa.transform = *match.chosen;
  _sai_b.assign(sa_payload->body.begin(), sa_payload->body.end());
  _sa.peer_caps = scan_vendor_ids(payload_bodies(m.payloads, PayloadType::vendor_id));
  reply_sa = ike::reply_sa(sa, *match.proposal, *match.transform);
  return std::nullopt;
}

MainModeStep MainModeResponder::msg3(const Datagram& d, const Message& m) {
  const auto* ke = m.find(PayloadType::key_exchange);
  const auto* nonce = m.find(PayloadType::nonce);
  if (ke == nullptr || nonce == nullptr) {
    return fail(MainModeFailure::missing_payload, "KE and Nonce in message 3");
  }
  const bool rsa = _sa.transform.suite.auth == AuthMethod::rsa_sig;
  std::optional<SecretBytes> psk;
  if (!rsa && _config.psk_for) {
    psk = _config.psk_for(d.peer);
  }
  if (!rsa && !psk && _config.id_keys.empty()) {
    return fail(MainModeFailure::no_psk, {});
  }
  if (auto failed = exchange_keys(*ke, *nonce)) {
    return std::move(*failed);
  }
  const bool nat_t = detect(d, m.payloads);
  _have_address_key = psk.has_value();
  if (rsa) {
    derive(skeyid_sig(_sa.transform.suite.hash, _sa.ni_b, _sa.nr_b, _gxy));
  } else if (psk) {
    _psk = *psk;
    derive(skeyid_psk(_sa.transform.suite.hash, *psk, _sa.ni_b, _sa.nr_b));
  }

  MessageBuilder b(reply_header());
  b.add(PayloadType::key_exchange, _dh->public_value());
  b.add(PayloadType::nonce, _sa.nr_b);
  if (rsa) {
    add_cert_requests(b, _config);
  }
  if (nat_t) {
    add_natd(b, d);
  }
  _state = MainModeState::wait_msg5;
  return {std::move(b).finish(), MainModeFailure::none, {}};
}

std::optional<MainModeStep> MainModeResponder::exchange_keys(const PayloadView& ke,
                                                             const PayloadView& nonce) {
  if (parse_nonce(nonce.body) != ParseError::none) {
    return fail(MainModeFailure::malformed,
                "nonce of " + std::to_string(nonce.body.size()) + " bytes");
  }
  const auto& suite = _sa.transform.suite;
  const std::size_t want = public_value_len(suite.group);
  if (ke.body.size() != want) {
    return fail(MainModeFailure::invalid_ke, "KE of " + std::to_string(ke.body.size()) +
                                                 " bytes for " + std::string(name(suite.group)) +
                                                 " (" + std::to_string(want) + " expected)");
  }
  if (_random.nonce.size() < 8 || _random.nonce.size() > 256) {
    return fail(MainModeFailure::internal, "no responder nonce");
  }
  _dh = _random.dh_private.empty() ? DhKeyPair::generate(suite.group)
                                   : DhKeyPair::from_private(suite.group, _random.dh_private);
  if (!_dh) {
    return fail(MainModeFailure::internal, "DH key generation");
  }
  SecretBytes gxy;
  if (const auto e = _dh->shared_secret(ke.body, gxy); e != DhError::none) {
    return fail(MainModeFailure::invalid_ke, std::string(to_string(e)));
  }
  _gxi.assign(ke.body.begin(), ke.body.end());
  _sa.ni_b.assign(nonce.body.begin(), nonce.body.end());
  _sa.nr_b = _random.nonce;
  _gxy = std::move(gxy);
  return std::nullopt;
}

bool MainModeResponder::detect(const Datagram& d, const std::vector<PayloadView>& payloads) {
  if (_sa.peer_caps.nat_t == NatTVariant::none) {
    return false;
  }
  const auto natds = payload_bodies(payloads, natd_payload(_sa.peer_caps.nat_t));
  if (natds.empty()) {
    return false;
  }
  _sa.nat =
      detect_nat(_sa.transform.suite.hash, _sa.icookie, _sa.rcookie, natds, d.local, d.peer);
  return true;
}

void MainModeResponder::add_natd(MessageBuilder& b, const Datagram& d) const {
  for (const auto& h : responder_natd(_sa.transform.suite.hash, _sa.icookie, _sa.rcookie, d.local,
                                      d.peer)) {
    b.add(natd_payload(_sa.peer_caps.nat_t), h);
  }
}

SecretBytes MainModeResponder::expected_hash_i(ByteView idii_b) const {
  return hash_i(_sa.transform.suite.hash, _skeyid, _gxi, _dh->public_value(), _sa.icookie,
                _sa.rcookie, _sai_b, idii_b);
}

SecretBytes MainModeResponder::our_hash_r(ByteView idir_b) const {
  return hash_r(_sa.transform.suite.hash, _skeyid, _gxi, _dh->public_value(), _sa.icookie,
                _sa.rcookie, _sai_b, idir_b);
}

void MainModeResponder::derive(SecretBytes skeyid) {
  const auto& suite = _sa.transform.suite;
  auto keys = derive_phase1(suite.hash, suite.cipher, std::move(skeyid), _gxy, _sa.icookie,
                            _sa.rcookie, _gxi, _dh->public_value());
  _skeyid = std::move(keys.skeyid);
  _sa.skeyid_d = std::move(keys.skeyid_d);
  _sa.skeyid_a = std::move(keys.skeyid_a);
  _sa.enc_key = std::move(keys.enc_key);
  _iv = std::move(keys.iv);
}

namespace {

// The ID payload's identity as the configuration writes it.
bool id_names(const Identification& id, const std::string& configured) {
  switch (static_cast<IdType>(id.type)) {
    case IdType::ipv4_addr:
    case IdType::fqdn:
    case IdType::user_fqdn:
      return identity_text(id) == configured;
    default:
      return false;
  }
}

}  // namespace

std::optional<SecretBytes> psk_again(const MainModeConfig& config, const IsakmpSa& sa) {
  if (sa.transform.suite.auth != AuthMethod::psk) {
    return std::nullopt;
  }
  const Endpoint peer = sa.peer.endpoint();
  if (sa.aggressive) {
    return config.aggressive_psk ? config.aggressive_psk(peer, sa.peer_id) : std::nullopt;
  }
  if (config.psk_for) {
    if (auto key = config.psk_for(peer)) {
      return key;
    }
  }
  for (const auto& k : config.id_keys) {
    if (id_names(sa.peer_id, k.id)) {
      return k.psk;
    }
  }
  return std::nullopt;
}

MainModeStep MainModeResponder::msg5(const Datagram& d, const Header& h) {
  if ((h.flags & flag_encryption) == 0) {
    return fail(MainModeFailure::not_encrypted, {});
  }
  if (_sa.transform.suite.auth == AuthMethod::rsa_sig) {
    return verify5_rsa(d, h);
  }
  MainModeStep first;
  if (_have_address_key) {
    first = verify5(d, h, nullptr);
    if (first.failure != MainModeFailure::psk_mismatch) {
      return first;
    }
  }
  for (const auto& k : _config.id_keys) {
    _psk = k.psk;
    derive(skeyid_psk(_sa.transform.suite.hash, k.psk, _sa.ni_b, _sa.nr_b));
    auto step = verify5(d, h, &k.id);
    if (step.failure != MainModeFailure::psk_mismatch) {
      return step;
    }
  }
  if (_have_address_key && _config.id_keys.empty()) {
    return fail(MainModeFailure::psk_mismatch, first.cause);
  }
  return fail(MainModeFailure::psk_mismatch, "no configured key decrypts and verifies message 5 (" +
                                                 std::to_string(_config.id_keys.size()) +
                                                 " identity keys tried)");
}

MainModeStep MainModeResponder::verify5(const Datagram& d, const Header& h,
                                        const std::string* bound_id) {
  // A wrong key is only a failure once every candidate was tried.
  auto mismatch = [](std::string why) {
    return MainModeStep{std::nullopt, MainModeFailure::psk_mismatch, std::move(why)};
  };
  EncryptedMessage o;
  open_encrypted(d.bytes, h, _sa.transform.suite.cipher, _sa.enc_key, _iv, 5, o);
  if (!o.crypt_error.empty()) {
    return fail(MainModeFailure::malformed, o.crypt_error);
  }
  if (!o.walk_error.empty()) {
    // With the wrong key the body decrypts to noise; this is how a PSK
    // mismatch usually shows.
    return mismatch(o.walk_error);
  }
  const auto& payloads = o.payloads;
  const auto& next_iv = o.next_iv;
  const auto* id = find_payload(payloads, PayloadType::identification);
  const auto* hash = find_payload(payloads, PayloadType::hash);
  if (id == nullptr || hash == nullptr) {
    return mismatch("message 5 lacks ID or HASH");
  }
  Identification peer_id;
  if (const auto e = parse_id(id->body, peer_id); e != ParseError::none) {
    return mismatch("message 5 ID: " + std::string(to_string(e)));
  }
  if (!mac_equal(expected_hash_i(id->body), hash->body)) {
    return mismatch("HASH_I does not verify");
  }
  if (bound_id != nullptr && !id_names(peer_id, *bound_id)) {
    return mismatch("the key that verified is bound to another identity");
  }
  return accept5(d, *id, payloads, AuthMethod::psk, next_iv);
}

namespace {

MainModeFailure failure_of(CertError e) {
  switch (e) {
    case CertError::none:
      return MainModeFailure::none;
    case CertError::missing:
      return MainModeFailure::cert_missing;
    case CertError::malformed:
      return MainModeFailure::cert_malformed;
    case CertError::untrusted:
      return MainModeFailure::cert_untrusted;
    case CertError::expired:
      return MainModeFailure::cert_expired;
    case CertError::not_yet_valid:
      return MainModeFailure::cert_not_yet_valid;
    case CertError::revoked:
      return MainModeFailure::cert_revoked;
    case CertError::key_usage:
      return MainModeFailure::cert_key_usage;
    case CertError::not_rsa:
      return MainModeFailure::cert_not_rsa;
  }
  return MainModeFailure::internal;
}

}  // namespace

void open_encrypted(ByteView msg, const Header& h, CipherSpec c, std::span<const std::uint8_t> key,
                    std::span<const std::uint8_t> iv, int message, EncryptedMessage& out) {
  if (const auto e = decrypt_message(msg, c, key, iv, out.plain, out.next_iv);
      e != CryptError::none) {
    out.crypt_error = std::string(to_string(e));
    return;
  }
  if (const auto e = walk_payloads(h.next_payload, ByteView(out.plain).subspan(header_len), true,
                                   out.payloads);
      e != ParseError::none) {
    out.walk_error = "message " + std::to_string(message) +
                     " does not decrypt to valid payloads (" + std::string(to_string(e)) + ")";
  }
}

SignatureCheck check_signature(const MainModeConfig& config,
                               const std::vector<PayloadView>& payloads,
                               const Identification& peer_id, ByteView signature,
                               const SecretBytes& expected, int message) {
  // The initiator sends the odd messages in both modes.
  const std::string which = message % 2 == 1 ? "SIG_I" : "SIG_R";
  auto failed = [](MainModeFailure f, std::string detail) {
    return SignatureCheck{f, std::move(detail), {}};
  };
  std::vector<ByteView> chain;
  std::string other_encodings;
  for (const auto body : payload_bodies(payloads, PayloadType::certificate)) {
    Certificate c;
    if (const auto e = parse_cert(body, c); e != ParseError::none) {
      return failed(MainModeFailure::cert_malformed, "CERT payload: " + std::string(to_string(e)));
    }
    if (c.encoding == cert_x509_signature) {
      chain.push_back(c.data);
    } else {
      other_encodings += (other_encodings.empty() ? "" : ", ") + std::to_string(c.encoding);
    }
  }
  if (chain.empty()) {
    return failed(MainModeFailure::cert_missing,
                  other_encodings.empty()
                      ? "message " + std::to_string(message) + " carries no CERT payload"
                      : "no X.509 signature certificate (CERT encodings " + other_encodings + ")");
  }
  auto check = config.trust->verify(chain, config.wall_clock());
  if (check.error != CertError::none) {
    return failed(failure_of(check.error), check.detail);
  }
  const X509Certificate& cert = *check.leaf;
  if (!cert.names(peer_id)) {
    const auto alt = cert.alt_names();
    return failed(MainModeFailure::id_mismatch, "ID " + identity_text(peer_id) +
                                                    " not in certificate " + cert.subject() +
                                                    (alt.empty() ? "" : " (" + alt + ")"));
  }
  if (!cert.verify_raw(expected, signature)) {
    return failed(MainModeFailure::bad_signature, which + " (" + std::to_string(signature.size()) +
                                                      " bytes) does not verify with the key of " +
                                                      cert.subject());
  }
  return {MainModeFailure::none, {}, cert.subject() + ", issued by " + cert.issuer()};
}

void add_cert_requests(MessageBuilder& b, const MainModeConfig& config) {
  for (const auto& ca : config.trust->ca_subjects()) {
    b.add(PayloadType::certificate_request, encode_cert_request(cert_x509_signature, ca));
  }
}

bool add_proof(MessageBuilder& b, const MainModeConfig& config, AuthMethod method,
               const std::function<SecretBytes(ByteView id)>& hash, bool cert_requests) {
  if (method == AuthMethod::rsa_sig) {
    // RFC 4945 §3.1: our ID is our certificate's subject DN; RFC 2407
    // §4.6.2 allows UDP/500 in phase 1, as for the pre-shared key's ID.
    const Bytes id = encode_id(IdType::der_asn1_dn, 17, 500, config.credential->subject_der());
    const auto sig = config.credential->sign_raw(hash(id));
    if (!sig) {
      return false;
    }
    b.add(PayloadType::identification, id);
    for (const auto& der : config.credential->chain()) {
      b.add(PayloadType::certificate, encode_cert(cert_x509_signature, der));
    }
    if (cert_requests) {
      add_cert_requests(b, config);
    }
    b.add(PayloadType::signature, *sig);
  } else {
    b.add(PayloadType::identification, config.local_id);
    b.add(PayloadType::hash, hash(config.local_id));
  }
  return true;
}

MainModeStep MainModeResponder::verify5_rsa(const Datagram& d, const Header& h) {
  EncryptedMessage o;
  open_encrypted(d.bytes, h, _sa.transform.suite.cipher, _sa.enc_key, _iv, 5, o);
  if (!o.crypt_error.empty() || !o.walk_error.empty()) {
    // Only the peer knows g^xy: noise here is a forgery or corruption, and
    // the exchange waits for the peer's retransmission.
    return fail(MainModeFailure::malformed, o.crypt_error + o.walk_error);
  }
  const auto& payloads = o.payloads;
  const auto& next_iv = o.next_iv;
  const auto* id = find_payload(payloads, PayloadType::identification);
  const auto* sig = find_payload(payloads, PayloadType::signature);
  if (id == nullptr || sig == nullptr) {
    return fail(MainModeFailure::missing_payload, "ID and SIG in message 5");
  }
  Identification peer_id;
  if (const auto e = parse_id(id->body, peer_id); e != ParseError::none) {
    return fail(MainModeFailure::id_mismatch, "message 5 ID: " + std::string(to_string(e)));
  }
  if (auto failed = check_sig_i(payloads, id->body, peer_id, 5)) {
    return std::move(*failed);
  }
  return accept5(d, *id, payloads, AuthMethod::rsa_sig, next_iv);
}

std::optional<MainModeStep> MainModeResponder::check_sig_i(const std::vector<PayloadView>& payloads,
                                                           ByteView id,
                                                           const Identification& peer_id,
                                                           int message) {
  const auto* sig = find_payload(payloads, PayloadType::signature);
  if (sig == nullptr) {
    return fail(MainModeFailure::missing_payload, "SIG in message " + std::to_string(message));
  }
  auto check = check_signature(_config, payloads, peer_id, sig->body, expected_hash_i(id), message);
  if (check.failure != MainModeFailure::none) {
    return fail(check.failure, check.detail);
  }
  _sa.peer_certificate = std::move(check.certificate);
  return std::nullopt;
}

MainModeStep MainModeResponder::accept5(const Datagram& d, const PayloadView& id,
                                        const std::vector<PayloadView>& payloads, AuthMethod method,
                                        const SecretBytes& next_iv) {
  if (auto failed = accept_identity(d, id.body, payloads, method)) {
    return std::move(*failed);
  }
  return reply6(d, next_iv);
}

std::optional<MainModeStep> MainModeResponder::accept_identity(
    const Datagram& d, ByteView id, const std::vector<PayloadView>& payloads, AuthMethod method) {
  _sa.peer_id_bytes.assign(id.begin(), id.end());
  (void)parse_id(_sa.peer_id_bytes, _sa.peer_id);
  if (_config.accept_peer_id && !_config.accept_peer_id(_sa.peer_id)) {
    return fail(MainModeFailure::id_rejected, identity_text(_sa.peer_id));
  }
  if (_config.authorize) {
    if (auto why = _config.authorize(d.peer, _sa.peer_id, method); !why.empty()) {
      return fail(MainModeFailure::id_rejected, identity_text(_sa.peer_id) + ": " + why);
    }
  }
  for (const auto body : payload_bodies(payloads, PayloadType::notification)) {
    Notification n;
    if (parse_notification(body, n) == ParseError::none &&
        n.type == static_cast<std::uint16_t>(NotifyType::initial_contact)) {
      _sa.initial_contact = true;
    }
  }
  return std::nullopt;
}

MainModeStep MainModeResponder::reply6(const Datagram& d, const SecretBytes& next_iv) {
  const auto& suite = _sa.transform.suite;
  MessageBuilder b(reply_header());
  if (!add_proof(b, _config, suite.auth, [this](ByteView id) { return our_hash_r(id); })) {
    return fail(MainModeFailure::internal, "signing HASH_R");
  }
  Bytes reply = std::move(b).finish();
  if (encrypt_message(reply, suite.cipher, _sa.enc_key, next_iv, _sa.last_block) !=
      CryptError::none) {
    return fail(MainModeFailure::internal, "encrypting message 6");
  }
  establish(d);
  return {std::move(reply), MainModeFailure::none, {}};
}

void MainModeResponder::establish(const Datagram& d) {
  _sa.local = Address::of(d.local);
  _sa.peer = Address::of(d.peer);
  if (_sa.transform.suite.auth == AuthMethod::psk) {
    _sa.psk = std::move(_psk);
  }
  // SKEYID itself is not needed after phase 1; the DH key pair neither.
  _skeyid.clear();
  _skeyid.shrink_to_fit();
  _state = MainModeState::established;
}

}  // namespace l2tpgw::ike
