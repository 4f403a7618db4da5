// The initiator's side of IKEv1 Main Mode (RFC 2409 §5.1, §5.4), used to
// replace an ISAKMP SA before it ends (IKEv1 has no rekey in place: a new
// Main Mode to the same peer, after which the old SA is deleted):
//
//   HDR, SA, VIDs                         ->
//                                         <- HDR, SA, VIDs
//   HDR, KE, Ni [, CERTREQ] [, NAT-D x2]  ->
//                                         <- HDR, KE, Nr [, CERTREQ] [, NAT-D x2]
//   HDR*, IDii, HASH_I | CERT, SIG_I      ->
//                                         <- HDR*, IDir, HASH_R | CERT, SIG_R
//
// It offers exactly the suite and lifetime of the SA it replaces and the
// vendor IDs negotiated then; message 2 must choose that transform, and
// message 6 must prove the identity the replaced SA had. Pure logic over
// datagrams like main_mode.h: the caller sends, retransmits and times out.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "controlplane/ike/main_mode.h"

namespace l2tpgw::ike {

// What the exchange takes over from the ISAKMP SA it replaces.
struct MainModeRekey {
  Phase1Suite suite;
  std::uint32_t life_seconds = 0;  // offered again; 0 = not sent
  PeerCapabilities caps;           // the vendor IDs announced again
  Bytes peer_id;                   // ID payload body the peer proved then
  std::optional<SecretBytes> psk;  // the key of a pre-shared key suite
};

enum class MainModeInitiatorState : std::uint8_t {
  wait_msg2,
  wait_msg4,
  wait_msg6,
  established,
  failed
};

class MainModeInitiator {
 public:
  // `config` (our ID, credential, trust store, policy hooks) must outlive
  // the initiator. `random.rcookie` is our cookie here (the initiator's),
  // `random.nonce` Ni, `random.dh_private` our DH key (empty: fresh).
  MainModeInitiator(const MainModeConfig& config, MainModeRekey rekey, MainModeRandom random);

  // Message 1; a failure names why it could not be built.
  MainModeStep start();
  // Messages 2, 4 and 6 from the peer: messages 3 and 5 in `reply`, then
  // the SA established. Anything that does not authenticate (malformed,
  // truncated, another transform chosen, a bad KE, a message 6 that does
  // not decrypt) comes back as a failure with the state unchanged: the
  // exchange waits for the real answer. A message 6 that decrypts but
  // does not prove the peer's identity fails the exchange.
  MainModeStep handle(const Datagram& d);

  MainModeInitiatorState state() const noexcept { return _state; }
  // The message we wait for the answer to (1, 3 or 5), for the caller's
  // failure line.
  int last_sent() const noexcept;
  const Cookie& icookie() const noexcept { return _sa.icookie; }
  // What the peer announced under the SA being replaced (fragmentation).
  const PeerCapabilities& peer_caps() const noexcept { return _rekey.caps; }
  const IsakmpSa* sa() const noexcept {
    return _state == MainModeInitiatorState::established ? &_sa : nullptr;
  }

 private:
  MainModeStep msg2(const Datagram& d, const Message& m);
  MainModeStep msg4(const Datagram& d, const Message& m);
  MainModeStep msg6(const Datagram& d, const Header& h);
  // Message 6 authenticated: the peer must be the one the old SA had.
  MainModeStep accept6(const Datagram& d, const PayloadView& id, const SecretBytes& last_block);
  MainModeStep fail(MainModeFailure f, std::string detail);

  const MainModeConfig& _config;
  MainModeRekey _rekey;
  MainModeRandom _random;
  MainModeInitiatorState _state = MainModeInitiatorState::wait_msg2;
  IsakmpSa _sa;
  Bytes _sai_b;
  std::optional<DhKeyPair> _dh;
  Bytes _gxr;
  SecretBytes _skeyid;
  SecretBytes _iv;
  Bytes _last_in;  // the peer's retransmission of it gets _last_out again
  Bytes _last_out;
};

}  // namespace l2tpgw::ike
