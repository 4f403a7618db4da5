// The responder's side of IKEv1 Main Mode with pre-shared keys (RFC 2409
// §5.4) or RSA signatures with X.509 certificates (RFC 2409 §5.1, RFC 4945),
// six messages, NAT-T (RFC 3947 and its drafts) included, and Aggressive
// Mode with either method (RFC 2409 §5.1 and §5.4, three messages; the
// code is in aggressive_mode.cc and shares the steps both modes have): pure logic
// over datagrams. The caller owns sockets, timers and retransmission
// timeouts; this class only turns each received message into a reply and,
// at the end, the keys of the ISAKMP SA or a named failure cause.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "controlplane/ike/algorithms.h"
#include "controlplane/ike/dh.h"
#include "controlplane/ike/isakmp.h"
#include "controlplane/ike/keys.h"
#include "controlplane/ike/nat_t.h"
#include "controlplane/ike/proposal.h"
#include "controlplane/ike/secret.h"
#include "controlplane/ike/x509.h"

namespace l2tpgw::ike {

#define L2TPGW_IKE_MM_FAILURES(X)                      \
  X(none, "ok")                                        \
  X(malformed, "malformed message")                    \
  X(unexpected_exchange, "not a Main Mode message")    \
  X(bad_cookie, "cookies do not match this exchange")  \
  X(missing_payload, "a mandatory payload is missing") \
  X(no_proposal_chosen, "no proposal chosen")          \
  X(no_psk, "no pre-shared key for this peer")         \
  X(invalid_ke, "invalid key exchange payload")        \
  X(not_encrypted, "message 5 is not encrypted")       \
  X(psk_mismatch, "pre-shared key mismatch")           \
  X(id_rejected, "peer identity not accepted")         \
  X(cert_missing, "no certificate")                    \
  X(cert_malformed, "malformed certificate")           \
  X(cert_untrusted, "certificate not trusted")         \
  X(cert_expired, "certificate expired")               \
  X(cert_not_yet_valid, "certificate not yet valid")   \
  X(cert_revoked, "certificate revoked")               \
  X(cert_key_usage, "certificate not for signatures")  \
  X(cert_not_rsa, "certificate key is not RSA")        \
  X(id_mismatch, "no matching ID")                     \
  X(bad_signature, "signature invalid")                \
  X(aggressive_refused, "not enabled for this peer")   \
  X(internal, "internal error")

enum class MainModeFailure : std::uint8_t {
#define L2TPGW_IKE_X(e, s) e,
  L2TPGW_IKE_MM_FAILURES(L2TPGW_IKE_X)
#undef L2TPGW_IKE_X
};

std::string_view to_string(MainModeFailure f) noexcept;

// An address (4 or 16 bytes) and port, owned.
struct Address {
  std::array<std::uint8_t, 16> bytes{};
  std::uint8_t len = 0;
  std::uint16_t port = 0;

  static Address of(Endpoint e) noexcept;
  Endpoint endpoint() const noexcept { return {std::span(bytes.data(), len), port}; }
};

struct Datagram {
  ByteView bytes;  // the ISAKMP message (on port 4500, after the non-ESP marker)
  Endpoint local;  // where it arrived
  Endpoint peer;   // where it came from
};

// The authentication methods a source may negotiate.
struct AuthMethods {
  bool psk = true;
  bool rsa = false;
};

struct MainModeConfig {
  Phase1Policy policy;
  // RFC 2409 §5: the method is chosen in message 1, before the peer's
  // identity is known, so it follows the source address; suites of the
  // other method are refused. Empty function: pre-shared keys only.
  std::function<AuthMethods(Endpoint peer)> methods_for;
  // RSA signatures: the CAs and CRLs the peer's chain is checked against,
  // our certificate and key (our ID is its subject DN), and the wall clock
  // of the validity checks (seconds since the Unix epoch). RSA suites are
  // refused unless all three are set.
  std::shared_ptr<const TrustStore> trust;
  std::shared_ptr<const LocalCredential> credential;
  std::function<std::int64_t()> wall_clock;
  // The peer policy once the identity is proven: empty when this ID may
  // authenticate with this method from this address, else why not.
  std::function<std::string(Endpoint peer, const Identification& id, AuthMethod method)> authorize;
  // RFC 2409 §5.4: in Main Mode the key must be chosen before the peer's
  // identity is known, so it is looked up by the peer's address.
  std::function<std::optional<SecretBytes>(Endpoint peer)> psk_for;
  // Keys bound to a peer identity. The ID travels encrypted under the key
  // (message 5), so these are tried in turn when the address's key does not
  // decrypt and verify it; the one that verifies must also name the ID it
  // is bound to. Each costs a few HMACs, no Diffie-Hellman.
  struct IdKey {
    std::string id;  // FQDN, user FQDN or dotted IPv4, as the ID payload carries it
    SecretBytes psk;
  };
  std::vector<IdKey> id_keys;
  // Our ID payload body (RFC 2407 §4.6.2), e.g. ID_IPV4_ADDR, UDP, 500.
  Bytes local_id;
  // Optional check of the peer's ID payload; empty function = accept any.
  std::function<bool(const Identification&)> accept_peer_id;
  // Aggressive Mode (RFC 2409 §5.4): message 1 carries IDii in the clear,
  // so the key follows it (and the source). nullopt, or an empty function:
  // this peer may not use Aggressive Mode, refused before any
  // Diffie-Hellman work.
  std::function<std::optional<SecretBytes>(Endpoint peer, const Identification& id)>
      aggressive_psk;
  // Aggressive Mode with RSA signatures for this source and IDii (asked
  // when aggressive_psk has no key for them); false, or an empty function:
  // refused like a peer without a key. Needs trust, credential and
  // wall_clock as Main Mode does.
  std::function<bool(Endpoint peer, const Identification& id)> aggressive_rsa;
};

// The values a responder draws at random, injectable for tests.
struct MainModeRandom {
  Cookie rcookie{};
  Bytes nonce;       // Nr_b, 8..256 bytes
  Bytes dh_private;  // empty: a fresh DH key pair
  // From OpenSSL's DRBG, with a 32-byte nonce.
  static MainModeRandom fresh();
};

enum class MainModeState : std::uint8_t { wait_msg1, wait_msg3, wait_msg5, established, failed };

// What the ISAKMP SA carries forward to Quick Mode and informational exchanges.
struct IsakmpSa {
  Cookie icookie{};
  Cookie rcookie{};
  Phase1Transform transform;
  SecretBytes skeyid_d;
  SecretBytes skeyid_a;
  SecretBytes enc_key;
  SecretBytes last_block;  // last CBC block of message 6, for phase-2 IVs
  Bytes ni_b;
  Bytes nr_b;
  Identification peer_id;  // data points into peer_id_bytes
  Bytes peer_id_bytes;
  PeerCapabilities peer_caps;
  std::string peer_certificate;  // subject and issuer of the peer's certificate (RSA)
  NatDetection nat;
  bool aggressive = false;  // established by Aggressive Mode
  // The pre-shared key that authenticated it (PSK suites), for the Main
  // Mode that replaces it when we start a phase-1 rekey.
  std::optional<SecretBytes> psk;
  Address local;  // the endpoints of the last message (after NAT-T floating)
  Address peer;
  bool initial_contact = false;
};

// The pre-shared key Main Mode (or Aggressive Mode) would choose for an
// established SA's peer and identity, in the same order: for an SA restored
// after a restart (the key is never in the state file), whose phase-1 rekey
// of ours needs it. nullopt for signature SAs or when none is configured.
std::optional<SecretBytes> psk_again(const MainModeConfig& config, const IsakmpSa& sa);

struct MainModeStep {
  std::optional<Bytes> reply;  // to send back to the datagram's source
  MainModeFailure failure = MainModeFailure::none;
  std::string cause;  // the log line when failure != none
};

// ---- steps both sides of Main Mode take (main_mode.cc) ----

// The header of a phase-1 message of `sa` (its cookies and mode).
Header phase1_header(const IsakmpSa& sa);
// A message before keys exist (1 to 4) parsed into `m`: empty when it
// parsed, else why not (encrypted, malformed).
std::string parse_clear(ByteView msg, const Header& h, Message& m);
// A step reporting `f`, its cause "what: detail".
MainModeStep failed_step(MainModeFailure f, const std::string& detail);

// An encrypted message 5 or 6 decrypted under `iv` and its payloads
// walked (they point into `plain`). `crypt_error`: it could not be
// decrypted; `walk_error`: it decrypted to noise (a wrong key, or a
// forgery). `next_iv` is its last ciphertext block.
struct EncryptedMessage {
  Bytes plain;
  SecretBytes next_iv;
  std::vector<PayloadView> payloads;
  std::string crypt_error;
  std::string walk_error;
};
void open_encrypted(ByteView msg, const Header& h, CipherSpec c, std::span<const std::uint8_t> key,
                    std::span<const std::uint8_t> iv, int message, EncryptedMessage& out);

// RSA signatures (RFC 2409 §5.1, RFC 4945): the peer's chain in the CERT
// payloads of message `message` (odd, Main Mode 5 or Aggressive Mode 3:
// the initiator's, SIG_I; even: the responder's, SIG_R) against the trust
// store at the wall clock, its ID
// against the certificate, and its signature of `expected`.
struct SignatureCheck {
  MainModeFailure failure = MainModeFailure::none;
  std::string detail;
  std::string certificate;  // "SUBJECT, issued by ISSUER" once it verified
};
SignatureCheck check_signature(const MainModeConfig& config,
                               const std::vector<PayloadView>& payloads,
                               const Identification& peer_id, ByteView signature,
                               const SecretBytes& expected, int message);

// Our ID and its proof in Main Mode message 5 or 6 or Aggressive Mode
// message 2: `local_id` and HASH with a pre-shared key; with RSA our
// certificate's subject as ID, our chain, `cert_requests` (the CERTREQs
// of Aggressive Mode, whose message 2 is our only chance to ask) and our
// signature. `hash` gives HASH_I or HASH_R of an ID payload body. False
// when signing failed.
bool add_proof(MessageBuilder& b, const MainModeConfig& config, AuthMethod method,
               const std::function<SecretBytes(ByteView id)>& hash, bool cert_requests = false);
// RFC 2408 §3.10: one CERTREQ per CA we accept, naming its subject, so a
// peer holding several certificates sends the one we can check.
void add_cert_requests(MessageBuilder& b, const MainModeConfig& config);

class MainModeResponder {
 public:
  // `config` is shared by every exchange and must outlive the responder.
  MainModeResponder(const MainModeConfig& config, MainModeRandom random);
  // An ISAKMP SA established before the process restarted, read back from
  // its saved state: nothing left to negotiate, every later message of the
  // exchange is refused as one already finished.
  MainModeResponder(const MainModeConfig& config, IsakmpSa established);

  MainModeStep handle(const Datagram& d);

  MainModeState state() const noexcept { return _state; }
  // Known from message 1 and message 3 on, before the SA is established.
  const PeerCapabilities& peer_caps() const noexcept { return _sa.peer_caps; }
  const NatDetection& nat() const noexcept { return _sa.nat; }
  // Known from message 1 on.
  bool aggressive() const noexcept { return _sa.aggressive; }
  // The peer's ID as text once known (Aggressive Mode: from message 1,
  // before it is authenticated, e.g. for the line of a refusal).
  std::string peer_identity() const;
  // Set once the state is established.
  const IsakmpSa* sa() const noexcept {
    return _state == MainModeState::established ? &_sa : nullptr;
  }

 private:
  MainModeStep msg1(const Datagram& d, const Message& m);
  MainModeStep msg3(const Datagram& d, const Message& m);
  MainModeStep msg5(const Datagram& d, const Header& h);
  // Aggressive Mode: message 1 (SA, KE, Ni, IDii) answered by message 2,
  // then HASH_I (or CERTs and SIG_I) in message 3, in the clear or encrypted.
  MainModeStep aggressive1(const Datagram& d, const Message& m);
  MainModeStep aggressive3(const Datagram& d, const Header& h);
  // Steps both modes take. Each returns the failure, or nullopt to go on.
  // The SA payload of message 1 against the policy for `methods`: sets the
  // transform, SAi_b and the peer's capabilities, and the SA body to reply.
  std::optional<MainModeStep> choose(const Message& m, AuthMethods methods, Bytes& reply_sa);
  // Checks KE and Ni, makes our DH pair and g^xy, draws Nr.
  std::optional<MainModeStep> exchange_keys(const PayloadView& ke, const PayloadView& nonce);
  // NAT-D of the peer's message (RFC 3947 §3.2), when it announced NAT-T.
  // True when it had them.
  bool detect(const Datagram& d, const std::vector<PayloadView>& payloads);
  // Our two NAT-D payloads for the endpoints of `d`.
  void add_natd(MessageBuilder& b, const Datagram& d) const;
  // The authenticated peer ID against the policy; INITIAL-CONTACT noted.
  std::optional<MainModeStep> accept_identity(const Datagram& d, ByteView id,
                                              const std::vector<PayloadView>& payloads,
                                              AuthMethod method);
  SecretBytes expected_hash_i(ByteView idii_b) const;
  SecretBytes our_hash_r(ByteView idir_b) const;
  // The ISAKMP SA is up: endpoints recorded, SKEYID dropped.
  void establish(const Datagram& d);
  // Message 5 under the current keys; a psk_mismatch step leaves the state
  // alone so that the next candidate key can be tried.
  MainModeStep verify5(const Datagram& d, const Header& h, const std::string* bound_id);
  // Message 5 with RSA signatures: the peer's chain, ID and SIG_I.
  MainModeStep verify5_rsa(const Datagram& d, const Header& h);
  // The SIG_I in `payloads` (message `message`) by the peer's chain there,
  // over HASH_I of the ID payload body `id`; notes the certificate.
  std::optional<MainModeStep> check_sig_i(const std::vector<PayloadView>& payloads, ByteView id,
                                          const Identification& peer_id, int message);
  // Message 5 authenticated by either method: the peer's ID checked against
  // the policy, INITIAL-CONTACT noted, message 6 built.
  MainModeStep accept5(const Datagram& d, const PayloadView& id,
                       const std::vector<PayloadView>& payloads, AuthMethod method,
                       const SecretBytes& next_iv);
  // Message 6: our ID and HASH_R, or our ID, CERTs and SIG_R.
  MainModeStep reply6(const Datagram& d, const SecretBytes& next_iv);
  // Derives the children of SKEYID (RFC 2409 §5).
  void derive(SecretBytes skeyid);
  MainModeStep fail(MainModeFailure f, std::string detail);
  Header reply_header() const;

  const MainModeConfig& _config;
  MainModeRandom _random;
  MainModeState _state = MainModeState::wait_msg1;
  IsakmpSa _sa;
  Bytes _sai_b;
  Bytes _gxi;
  std::optional<DhKeyPair> _dh;
  SecretBytes _gxy;
  bool _have_address_key = false;
  SecretBytes _psk;  // the key SKEYID was last derived from (PSK suites)
  SecretBytes _skeyid;
  SecretBytes _iv;
  Bytes _last_in;  // retransmissions of it get _last_out again
  Bytes _last_out;
};

}  // namespace l2tpgw::ike
