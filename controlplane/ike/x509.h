// X.509 for IKEv1 authentication with RSA signatures (RFC 2409 §5.1,
// RFC 4945 for what the certificates carry): the trusted CAs and their CRLs,
// our own certificate chain and key, the peer's chain checked against them,
// the ID payload matched against a certificate, and the raw PKCS#1 v1.5
// signatures IKEv1 makes over HASH_I/HASH_R.
//
// Everything takes bytes (PEM text or DER) and the time of the check as
// arguments: no file reads, no clock. OpenSSL objects are shared and
// immutable once loaded, so one store serves every exchange.
#pragma once

#include <openssl/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "controlplane/ike/isakmp.h"

namespace l2tpgw::ike {

// Why a peer's certificate chain was refused; the text starts the
// operator's line ("certificate not trusted: ...").
#define L2TPGW_IKE_CERT_ERRORS(X)                \
  X(none, "ok")                                  \
  X(missing, "no certificate")                   \
  X(malformed, "malformed certificate")          \
  X(untrusted, "certificate not trusted")        \
  X(expired, "certificate expired")              \
  X(not_yet_valid, "certificate not yet valid")  \
  X(revoked, "certificate revoked")              \
  X(key_usage, "certificate not for signatures") \
  X(not_rsa, "certificate key is not RSA")

enum class CertError : std::uint8_t {
#define L2TPGW_IKE_X(e, s) e,
  L2TPGW_IKE_CERT_ERRORS(L2TPGW_IKE_X)
#undef L2TPGW_IKE_X
};

std::string_view to_string(CertError e) noexcept;

// "C=CH, O=test, CN=client": short attribute names in the DER order, the
// way strongSwan and the configuration write them; bytes outside printable
// ASCII become '?', so a hostile name cannot forge a log line.
std::string dn_text(const X509_NAME* name);
// The text of a DER-encoded DN (an ID payload's), or a note that it is not one.
std::string dn_text(ByteView der);
// "C=CH, O=test, CN=client" (',' or '/' separated) as a DER DN; nullopt when
// a part is not TYPE=value or names an unknown attribute type.
std::optional<Bytes> dn_from_text(std::string_view text);
// Equality of two DER DNs by their canonical form (RFC 5280 §7.1: case and
// inner spaces do not matter); false when either does not parse.
bool dn_equal(ByteView a, ByteView b);

// An ID payload's identity as the operator reads it: the dotted quad, the
// (user) FQDN, or the DN.
std::string identity_text(const Identification& id);

// One parsed certificate, shared.
class X509Certificate {
 public:
  // DER, the whole span; nullopt when it is not exactly one certificate.
  static std::optional<X509Certificate> from_der(ByteView der);

  Bytes der() const;
  Bytes subject_der() const;
  std::string subject() const;
  std::string issuer() const;
  // "DNS:host, IP:192.0.2.1, email:a@b", empty when there is no
  // subjectAltName.
  std::string alt_names() const;
  // RFC 4945 §3.1: the ID payload must name the certificate's subject DN
  // (ID_DER_ASN1_DN) or one of its subjectAltNames (ID_FQDN as dNSName,
  // ID_USER_FQDN as rfc822Name, ID_IPV4_ADDR as iPAddress).
  bool names(const Identification& id) const;
  // A raw PKCS#1 v1.5 signature (block type 1, no DigestInfo) over `hash`
  // with this certificate's RSA key: the SIG payload of RFC 2409 §5.1.
  bool verify_raw(ByteView hash, ByteView signature) const;

  X509* get() const noexcept { return _x.get(); }

 private:
  std::shared_ptr<X509> _x;
};

struct CertCheck {
  CertError error = CertError::none;
  std::string detail;  // which certificate and why, for the log
  std::optional<X509Certificate> leaf;
};

// The CAs we trust, and their CRLs.
class TrustStore {
 public:
  // `ca_pem` holds one or more CA certificates (each one a trust anchor,
  // intermediates included), `crl_pem` zero or more CRLs. Returns nullopt
  // with `why` set when a bundle does not parse or holds nothing.
  static std::optional<TrustStore> from_pem(std::string_view ca_pem, std::string_view crl_pem,
                                            std::string& why);

  // The subjects of the trusted CAs, DER, for our CERTREQ payloads.
  const std::vector<Bytes>& ca_subjects() const noexcept { return _subjects; }
  std::size_t crl_count() const noexcept { return _crls; }

  // The peer's certificates as they came in CERT payloads, the end entity
  // first and any intermediates after it, checked at `now` (seconds since
  // the Unix epoch): the path to one of our CAs, every validity period,
  // the CRLs of issuers we hold CRLs for, and, when the end entity has a
  // keyUsage extension, digitalSignature (RFC 5280 §4.2.1.3).
  CertCheck verify(const std::vector<ByteView>& chain, std::int64_t now) const;

 private:
  std::shared_ptr<X509_STORE> _store;
  std::vector<Bytes> _subjects;
  std::size_t _crls = 0;
};

// Our certificate (and any intermediates after it in the same PEM file),
// with its RSA private key.
class LocalCredential {
 public:
  static std::optional<LocalCredential> from_pem(std::string_view cert_pem,
                                                 std::string_view key_pem, std::string& why);

  // DER of our certificate first, then the intermediates: one CERT payload each.
  const std::vector<Bytes>& chain() const noexcept { return _chain; }
  const Bytes& subject_der() const noexcept { return _subject; }
  std::string subject() const;
  // The raw PKCS#1 v1.5 signature of RFC 2409 §5.1 over `hash`; nullopt
  // when OpenSSL fails.
  std::optional<Bytes> sign_raw(ByteView hash) const;

 private:
  std::vector<Bytes> _chain;
  Bytes _subject;
  std::optional<X509Certificate> _cert;
  std::shared_ptr<EVP_PKEY> _key;
};

}  // namespace l2tpgw::ike
