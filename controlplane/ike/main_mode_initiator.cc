#include "controlplane/ike/main_mode_initiator.h"

#include <algorithm>

#include "controlplane/ike/cipher.h"

namespace l2tpgw::ike {

MainModeInitiator::MainModeInitiator(const MainModeConfig& config, MainModeRekey rekey,
                                     MainModeRandom random)
    : _config(config), _rekey(std::move(rekey)), _random(std::move(random)) {
  _sa.icookie = _random.rcookie;
  _sa.transform.proposal_number = 1;
  _sa.transform.transform_number = 1;
  _sa.transform.suite = _rekey.suite;
  _sa.transform.life_seconds = _rekey.life_seconds;
}

int MainModeInitiator::last_sent() const noexcept {
  switch (_state) {
    case MainModeInitiatorState::wait_msg2:
      return 1;
    case MainModeInitiatorState::wait_msg4:
      return 3;
    default:
      return 5;
  }
}

MainModeStep MainModeInitiator::fail(MainModeFailure f, std::string detail) {
  MainModeStep s = failed_step(f, detail);
  // Until message 6 proves the peer, an answer may be forged by anyone who
  // saw our cookie: it is dropped and the exchange waits for the real one.
  // Only an authenticated refusal (a proof that does not verify once the
  // keys agree, another identity) or our own failure ends it.
  const bool authenticated =
      f == MainModeFailure::psk_mismatch || f == MainModeFailure::id_rejected ||
      f == MainModeFailure::id_mismatch || f == MainModeFailure::bad_signature ||
      f == MainModeFailure::cert_missing || f == MainModeFailure::cert_malformed ||
      f == MainModeFailure::cert_untrusted || f == MainModeFailure::cert_expired ||
      f == MainModeFailure::cert_not_yet_valid || f == MainModeFailure::cert_revoked ||
      f == MainModeFailure::cert_key_usage || f == MainModeFailure::cert_not_rsa;
  if (authenticated || f == MainModeFailure::internal) {
    _state = MainModeInitiatorState::failed;
  }
  return s;
}

MainModeStep MainModeInitiator::start() {
  if (_state != MainModeInitiatorState::wait_msg2 || !_last_out.empty() ||
      _random.nonce.size() < 8 || _random.nonce.size() > 256) {
    return fail(MainModeFailure::internal, "no initiator nonce");
  }
  if (_rekey.suite.auth == AuthMethod::psk && !_rekey.psk) {
    auto step = fail(MainModeFailure::no_psk, {});
    _state = MainModeInitiatorState::failed;
    return step;
  }
  if (_rekey.suite.auth == AuthMethod::rsa_sig &&
      (!_config.credential || !_config.trust || !_config.wall_clock)) {
    return fail(MainModeFailure::internal, "no certificate configured");
  }
  _dh = _random.dh_private.empty()
            ? DhKeyPair::generate(_rekey.suite.group)
            : DhKeyPair::from_private(_rekey.suite.group, _random.dh_private);
  if (!_dh) {
    return fail(MainModeFailure::internal, "DH key generation");
  }
  _sa.ni_b = _random.nonce;
  _sai_b = offer_sa(_rekey.suite, _rekey.life_seconds);
  MessageBuilder b(phase1_header(_sa));
  b.add(PayloadType::sa, _sai_b);
  // The same announcements as the peer agreed to before: its NAT-T
  // dialect, DPD and fragmentation.
  for (const auto& vid : responder_vendor_ids(_rekey.caps)) {
    b.add(PayloadType::vendor_id, vid);
  }
  _last_out = std::move(b).finish();
  return {_last_out, MainModeFailure::none, {}};
}

MainModeStep MainModeInitiator::handle(const Datagram& d) {
  if (!_last_in.empty() && std::ranges::equal(d.bytes, _last_in)) {
    // The peer repeats its answer: ours was lost, the same goes again.
    return {_last_out, MainModeFailure::none, {}};
  }
  if (_state == MainModeInitiatorState::established || _state == MainModeInitiatorState::failed ||
      _last_out.empty()) {
    return fail(MainModeFailure::unexpected_exchange, "exchange not waiting");
  }
  Header h;
  if (const auto e = parse_header(d.bytes, h); e != ParseError::none) {
    return fail(MainModeFailure::malformed, std::string(to_string(e)));
  }
  if (h.exchange != static_cast<std::uint8_t>(ExchangeType::main_mode) || h.message_id != 0) {
    return fail(MainModeFailure::unexpected_exchange,
                "exchange type " + std::to_string(h.exchange));
  }
  const bool zero_rcookie =
      std::all_of(h.rcookie.begin(), h.rcookie.end(), [](std::uint8_t b) { return b == 0; });
  if (h.icookie != _sa.icookie ||
      (_state == MainModeInitiatorState::wait_msg2 ? zero_rcookie : h.rcookie != _sa.rcookie)) {
    return fail(MainModeFailure::bad_cookie, {});
  }
  MainModeStep step;
  if (_state == MainModeInitiatorState::wait_msg6) {
    step = msg6(d, h);
  } else {
    Message m;
    if (auto why = parse_clear(d.bytes, h, m); !why.empty()) {
      return fail(MainModeFailure::malformed, why);
    }
    step = _state == MainModeInitiatorState::wait_msg2 ? msg2(d, m) : msg4(d, m);
  }
  if (step.reply && step.failure == MainModeFailure::none) {
    _last_in.assign(d.bytes.begin(), d.bytes.end());
    _last_out = *step.reply;
  }
  return step;
}

MainModeStep MainModeInitiator::msg2(const Datagram& d, const Message& m) {
  const auto* sa_payload = m.find(PayloadType::sa);
  if (sa_payload == nullptr) {
    return fail(MainModeFailure::missing_payload, "SA in message 2");
  }
  SecurityAssociation sa;
  if (const auto e = parse_sa(sa_payload->body, sa); e != ParseError::none) {
    return fail(MainModeFailure::malformed, "SA: " + std::string(to_string(e)));
  }
  if (auto why = check_chosen(sa, _rekey.suite); !why.empty()) {
    return fail(MainModeFailure::no_proposal_chosen, why);
  }
  _sa.rcookie = m.header.rcookie;
  // What the peer answers with now, which is what it announced before
  // unless it changed its configuration since.
  _sa.peer_caps = scan_vendor_ids(payload_bodies(m.payloads, PayloadType::vendor_id));
  if (_rekey.caps.nat_t == NatTVariant::none) {
    _sa.peer_caps.nat_t = NatTVariant::none;
  }

  MessageBuilder b(phase1_header(_sa));
  b.add(PayloadType::key_exchange, _dh->public_value());
  b.add(PayloadType::nonce, _sa.ni_b);
  if (_rekey.suite.auth == AuthMethod::rsa_sig) {
    // RFC 2408 §3.10: our CAs, so that the peer sends its certificate.
    for (const auto& ca : _config.trust->ca_subjects()) {
      b.add(PayloadType::certificate_request, encode_cert_request(cert_x509_signature, ca));
    }
  }
  if (_sa.peer_caps.nat_t != NatTVariant::none) {
    // RFC 3947 §3.2: the peer as we send to it first, then ourselves.
    for (const auto& h :
         responder_natd(_rekey.suite.hash, _sa.icookie, _sa.rcookie, d.local, d.peer)) {
      b.add(natd_payload(_sa.peer_caps.nat_t), h);
    }
  }
  _state = MainModeInitiatorState::wait_msg4;
  return {std::move(b).finish(), MainModeFailure::none, {}};
}

MainModeStep MainModeInitiator::msg4(const Datagram& d, const Message& m) {
  const auto* ke = m.find(PayloadType::key_exchange);
  const auto* nonce = m.find(PayloadType::nonce);
  if (ke == nullptr || nonce == nullptr) {
    return fail(MainModeFailure::missing_payload, "KE and Nonce in message 4");
  }
  if (parse_nonce(nonce->body) != ParseError::none) {
    return fail(MainModeFailure::malformed,
                "nonce of " + std::to_string(nonce->body.size()) + " bytes");
  }
  SecretBytes gxy;
  if (const auto e = _dh->shared_secret(ke->body, gxy); e != DhError::none) {
    return fail(MainModeFailure::invalid_ke, "KE of " + std::to_string(ke->body.size()) +
                                                 " bytes: " + std::string(to_string(e)));
  }
  _gxr.assign(ke->body.begin(), ke->body.end());
  _sa.nr_b.assign(nonce->body.begin(), nonce->body.end());
  if (_sa.peer_caps.nat_t != NatTVariant::none) {
    const auto natds = payload_bodies(m.payloads, natd_payload(_sa.peer_caps.nat_t));
    if (!natds.empty()) {
      _sa.nat = detect_nat(_rekey.suite.hash, _sa.icookie, _sa.rcookie, natds, d.local, d.peer);
    }
  }
  const auto& suite = _rekey.suite;
  auto keys = derive_phase1(suite.hash, suite.cipher,
                            suite.auth == AuthMethod::rsa_sig
                                ? skeyid_sig(suite.hash, _sa.ni_b, _sa.nr_b, gxy)
                                : skeyid_psk(suite.hash, *_rekey.psk, _sa.ni_b, _sa.nr_b),
                            gxy, _sa.icookie, _sa.rcookie, _dh->public_value(), _gxr);
  _skeyid = std::move(keys.skeyid);
  _sa.skeyid_d = std::move(keys.skeyid_d);
  _sa.skeyid_a = std::move(keys.skeyid_a);
  _sa.enc_key = std::move(keys.enc_key);

  MessageBuilder b(phase1_header(_sa));
  const auto our_hash_i = [this](ByteView id) {
    return hash_i(_rekey.suite.hash, _skeyid, _dh->public_value(), _gxr, _sa.icookie, _sa.rcookie,
                  _sai_b, id);
  };
  if (!add_proof(b, _config, suite.auth, our_hash_i)) {
    return fail(MainModeFailure::internal, "signing HASH_I");
  }
  Bytes msg5 = std::move(b).finish();
  // Message 6 chains from the last block of message 5 (RFC 2409 Appendix B).
  SecretBytes next_iv;
  if (encrypt_message(msg5, suite.cipher, _sa.enc_key, keys.iv, next_iv) != CryptError::none) {
    return fail(MainModeFailure::internal, "encrypting message 5");
  }
  _iv = std::move(next_iv);
  _state = MainModeInitiatorState::wait_msg6;
  return {std::move(msg5), MainModeFailure::none, {}};
}

MainModeStep MainModeInitiator::msg6(const Datagram& d, const Header& h) {
  if ((h.flags & flag_encryption) == 0) {
    return fail(MainModeFailure::not_encrypted, "message 6");
  }
  const auto& suite = _rekey.suite;
  EncryptedMessage o;
  open_encrypted(d.bytes, h, suite.cipher, _sa.enc_key, _iv, 6, o);
  if (!o.crypt_error.empty() || !o.walk_error.empty()) {
    // A wrong key on either side shows the same way as a forgery: noise.
    return fail(MainModeFailure::malformed, o.crypt_error + o.walk_error);
  }
  const auto& payloads = o.payloads;
  const auto* id = find_payload(payloads, PayloadType::identification);
  const bool rsa = suite.auth == AuthMethod::rsa_sig;
  const auto* proof = find_payload(payloads, rsa ? PayloadType::signature : PayloadType::hash);
  if (id == nullptr || proof == nullptr) {
    return fail(MainModeFailure::missing_payload,
                rsa ? "ID and SIG in message 6" : "ID and HASH in message 6");
  }
  Identification peer_id;
  if (const auto e = parse_id(id->body, peer_id); e != ParseError::none) {
    return fail(MainModeFailure::malformed, "message 6 ID: " + std::string(to_string(e)));
  }
  const auto expected = hash_r(suite.hash, _skeyid, _dh->public_value(), _gxr, _sa.icookie,
                               _sa.rcookie, _sai_b, id->body);
  if (rsa) {
    auto check = check_signature(_config, payloads, peer_id, proof->body, expected, 6);
    if (check.failure != MainModeFailure::none) {
      return fail(check.failure, check.detail);
    }
    _sa.peer_certificate = std::move(check.certificate);
  } else if (!mac_equal(expected, proof->body)) {
    return fail(MainModeFailure::psk_mismatch, "HASH_R does not verify");
  }
  return accept6(d, *id, o.next_iv);
}

MainModeStep MainModeInitiator::accept6(const Datagram& d, const PayloadView& id,
                                        const SecretBytes& last_block) {
  _sa.peer_id_bytes.assign(id.body.begin(), id.body.end());
  (void)parse_id(_sa.peer_id_bytes, _sa.peer_id);
  Identification before;
  if (parse_id(_rekey.peer_id, before) == ParseError::none &&
      (before.type != _sa.peer_id.type || identity_text(before) != identity_text(_sa.peer_id))) {
    return fail(MainModeFailure::id_rejected, identity_text(_sa.peer_id) +
                                                  ": not the identity of the SA it replaces (" +
                                                  identity_text(before) + ")");
  }
  if (_config.authorize) {
    if (auto why = _config.authorize(d.peer, _sa.peer_id, _rekey.suite.auth); !why.empty()) {
      return fail(MainModeFailure::id_rejected, identity_text(_sa.peer_id) + ": " + why);
    }
  }
  _sa.last_block = last_block;
  _sa.psk = _rekey.psk;
  _sa.local = Address::of(d.local);
  _sa.peer = Address::of(d.peer);
  _skeyid.clear();
  _skeyid.shrink_to_fit();
  _state = MainModeInitiatorState::established;
  return {std::nullopt, MainModeFailure::none, {}};
}

}  // namespace l2tpgw::ike
