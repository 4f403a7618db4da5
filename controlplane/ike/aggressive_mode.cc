// IKEv1 Aggressive Mode, responder side, with pre-shared keys (RFC 2409
// §5.4) or RSA signatures (§5.1): the steps Main Mode spreads over six
// messages in three.
//
//   HDR, SA, KE, Ni, IDii [, CR]          ->
//                                         <- HDR, SA, KE, Nr, IDir, HASH_R [, NAT-D, NAT-D]
//                                   or    <- HDR, SA, KE, Nr, IDir, CERT, CR, SIG_R [, NAT-D...]
//   HDR[*], HASH_I [, NAT-D, NAT-D]       ->
//   or HDR[*], CERT, SIG_I [, NAT-D...]   ->
//
// The peer's identity arrives before any key exists, so the key (or the
// method) is chosen by it; a peer the configuration does not enable is
// refused before any Diffie-Hellman work. With a pre-shared key message 2
// carries HASH_R unencrypted, which is why the mode is per peer only
// (docs/IKE.md).
#include "controlplane/ike/cipher.h"
#include "controlplane/ike/main_mode.h"

namespace l2tpgw::ike {

MainModeStep MainModeResponder::aggressive1(const Datagram& d, const Message& m) {
  _sa.icookie = m.header.icookie;
  const auto* ke = m.find(PayloadType::key_exchange);
  const auto* nonce = m.find(PayloadType::nonce);
  const auto* id = m.find(PayloadType::identification);
  if (m.find(PayloadType::sa) == nullptr || ke == nullptr || nonce == nullptr || id == nullptr) {
    return fail(MainModeFailure::missing_payload, "SA, KE, Nonce and ID in message 1");
  }
  _sa.peer_id_bytes.assign(id->body.begin(), id->body.end());
  if (const auto e = parse_id(_sa.peer_id_bytes, _sa.peer_id); e != ParseError::none) {
    _sa.peer_id_bytes.clear();
    _sa.peer_id = {};
    return fail(MainModeFailure::malformed, "ID: " + std::string(to_string(e)));
  }
  std::optional<SecretBytes> psk;
  if (_config.aggressive_psk) {
    psk = _config.aggressive_psk(d.peer, _sa.peer_id);
  }
  // The method is the one the ID's entry is configured for, so the SA
  // offers of the other method are refused.
  const bool rsa = !psk && _config.aggressive_rsa && _config.aggressive_rsa(d.peer, _sa.peer_id);
  if (!psk && !rsa) {
    return fail(MainModeFailure::aggressive_refused, "ID " + identity_text(_sa.peer_id));
  }
  Bytes reply_sa;
  if (auto failed = choose(m, AuthMethods{psk.has_value(), rsa}, reply_sa)) {
    return std::move(*failed);
  }
  // RFC 2409 §5: the group cannot be negotiated here, the peer made its KE
  // for the group of the transform it expects us to choose.
  if (auto failed = exchange_keys(*ke, *nonce)) {
    return std::move(*failed);
  }
  const auto& suite = _sa.transform.suite;
  if (rsa) {
    derive(skeyid_sig(suite.hash, _sa.ni_b, _sa.nr_b, _gxy));
  } else {
    _psk = *psk;
    derive(skeyid_psk(suite.hash, *psk, _sa.ni_b, _sa.nr_b));
  }

  MessageBuilder b(reply_header());
  b.add(PayloadType::sa, reply_sa);
  b.add(PayloadType::key_exchange, _dh->public_value());
  b.add(PayloadType::nonce, _sa.nr_b);
  // With RSA the CERTREQs go here: message 2 is the last one we send.
  if (!add_proof(b, _config, suite.auth, [this](ByteView id) { return our_hash_r(id); }, rsa)) {
    return fail(MainModeFailure::internal, "signing HASH_R");
  }
  for (const auto& vid : responder_vendor_ids(_sa.peer_caps)) {
    b.add(PayloadType::vendor_id, vid);
  }
  // RFC 3947 §3.2: in Aggressive Mode the NAT-D payloads are in messages 2
  // and 3; ours go whenever the peer announced NAT-T.
  if (_sa.peer_caps.nat_t != NatTVariant::none) {
    add_natd(b, d);
  }
  _state = MainModeState::wait_msg3;
  return {std::move(b).finish(), MainModeFailure::none, {}};
}

MainModeStep MainModeResponder::aggressive3(const Datagram& d, const Header& h) {
  const bool rsa = _sa.transform.suite.auth == AuthMethod::rsa_sig;
  // RFC 2409 §5.4 leaves message 3 in the clear; implementations encrypt
  // it too (it may carry INITIAL-CONTACT), so both are taken.
  const bool encrypted = (h.flags & flag_encryption) != 0;
  EncryptedMessage opened;
  Message clear;
  const std::vector<PayloadView>* payloads = &clear.payloads;
  // RFC 2409 Appendix B: phase 2 IVs start from the last phase-1 CBC block;
  // with nothing encrypted in phase 1 that is the first IV.
  SecretBytes last_block = _iv;
  if (encrypted) {
    open_encrypted(d.bytes, h, _sa.transform.suite.cipher, _sa.enc_key, _iv, 3, opened);
    if (!opened.crypt_error.empty()) {
      return fail(MainModeFailure::malformed, opened.crypt_error);
    }
    if (!opened.walk_error.empty()) {
      // Under the wrong pre-shared key the body decrypts to noise. With
      // signatures only the peer knows g^xy: noise is a forgery or
      // corruption, and the exchange waits for the retransmission.
      return fail(rsa ? MainModeFailure::malformed : MainModeFailure::psk_mismatch,
                  opened.walk_error);
    }
    payloads = &opened.payloads;
    last_block = opened.next_iv;
  } else if (const auto e = parse_message(d.bytes, clear); e != ParseError::none) {
    return fail(MainModeFailure::malformed, std::string(to_string(e)));
  }
  if (rsa) {
    if (auto failed = check_sig_i(*payloads, _sa.peer_id_bytes, _sa.peer_id, 3)) {
      return std::move(*failed);
    }
  } else {
    const auto* hash = find_payload(*payloads, PayloadType::hash);
    if (hash == nullptr) {
      return encrypted ? fail(MainModeFailure::psk_mismatch, "message 3 lacks HASH")
                       : fail(MainModeFailure::missing_payload, "HASH in message 3");
    }
    if (!mac_equal(expected_hash_i(_sa.peer_id_bytes), hash->body)) {
      return fail(MainModeFailure::psk_mismatch, "HASH_I does not verify");
    }
  }
  detect(d, *payloads);
  const Bytes id = _sa.peer_id_bytes;
  if (auto failed = accept_identity(d, id, *payloads, _sa.transform.suite.auth)) {
    return std::move(*failed);
  }
  _sa.last_block = std::move(last_block);
  establish(d);
  return {std::nullopt, MainModeFailure::none, {}};
}

}  // namespace l2tpgw::ike
