#include "controlplane/ike/x509.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cctype>
#include <cstdio>
#include <ctime>

namespace l2tpgw::ike {

std::string_view to_string(CertError e) noexcept {
  switch (e) {
#define L2TPGW_IKE_X(e, s) \
  case CertError::e:       \
    return s;
    L2TPGW_IKE_CERT_ERRORS(L2TPGW_IKE_X)
#undef L2TPGW_IKE_X
  }
  return "?";
}

namespace {

struct Free {
  void operator()(X509_NAME* p) const noexcept { X509_NAME_free(p); }
  void operator()(BIO* p) const noexcept { BIO_free(p); }
  void operator()(X509_STORE_CTX* p) const noexcept { X509_STORE_CTX_free(p); }
  void operator()(EVP_PKEY_CTX* p) const noexcept { EVP_PKEY_CTX_free(p); }
  void operator()(GENERAL_NAMES* p) const noexcept { GENERAL_NAMES_free(p); }
  void operator()(STACK_OF(X509) * p) const noexcept { sk_X509_free(p); }
};
template <typename T>
using Owned = std::unique_ptr<T, Free>;

std::shared_ptr<X509> share(X509* x) {
  return std::shared_ptr<X509>(x, X509_free);
}

std::string printable(const unsigned char* p, std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) {
    s += (p[i] >= 0x20 && p[i] < 0x7F) ? static_cast<char>(p[i]) : '?';
  }
  return s;
}

std::string ipv4_text(const unsigned char* a) {
  return std::to_string(a[0]) + "." + std::to_string(a[1]) + "." + std::to_string(a[2]) + "." +
         std::to_string(a[3]);
}

bool iequal(std::string_view a, ByteView b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lo = [](unsigned c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; };
    if (lo(static_cast<unsigned char>(a[i])) != lo(b[i])) {
      return false;
    }
  }
  return true;
}

Owned<X509_NAME> name_of(ByteView der) {
  const unsigned char* p = der.data();
  Owned<X509_NAME> n(d2i_X509_NAME(nullptr, &p, static_cast<long>(der.size())));
  if (n && p != der.data() + der.size()) {
    n.reset();  // bytes after the DN: not one DN
  }
  return n;
}

Bytes der_of(const X509_NAME* n) {
  unsigned char* buf = nullptr;
  const int len = i2d_X509_NAME(n, &buf);
  if (len <= 0) {
    return {};
  }
  Bytes out(buf, buf + len);
  OPENSSL_free(buf);
  return out;
}

std::string time_text(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
    return "?";
  }
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

// Every PEM block of one kind in a bundle.
template <typename T, typename Read>
std::vector<std::shared_ptr<T>> read_all(std::string_view pem, Read read, void (*free_fn)(T*)) {
  std::vector<std::shared_ptr<T>> out;
  Owned<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  while (bio) {
    T* x = read(bio.get(), nullptr, nullptr, nullptr);
    if (x == nullptr) {
      break;
    }
    out.emplace_back(x, free_fn);
  }
  return out;
}

// CRLs are checked where we hold one: a certificate whose issuer has no CRL
// in the file is not refused for that (the `crl` setting is optional per CA).
int tolerate_missing_crl(int ok, X509_STORE_CTX* ctx) {
  if (ok == 0 && X509_STORE_CTX_get_error(ctx) == X509_V_ERR_UNABLE_TO_GET_CRL) {
    X509_STORE_CTX_set_error(ctx, X509_V_OK);
    return 1;
  }
  return ok;
}

bool is_rsa(EVP_PKEY* k) {
  return k != nullptr && EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA;
}

}  // namespace

// ---- names ----

std::string dn_text(const X509_NAME* name) {
  std::string s;
  if (name == nullptr) {
    return s;
  }
  for (int i = 0; i < X509_NAME_entry_count(name); ++i) {
    const X509_NAME_ENTRY* e = X509_NAME_get_entry(name, i);
    const int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
    const char* sn = nid != NID_undef ? OBJ_nid2sn(nid) : nullptr;
    std::string type = sn != nullptr ? sn : "?";
    if (nid == NID_pkcs9_emailAddress) {
      type = "E";
    }
    const ASN1_STRING* v = X509_NAME_ENTRY_get_data(e);
    unsigned char* utf8 = nullptr;
    const int n = ASN1_STRING_to_UTF8(&utf8, v);
    s += (s.empty() ? "" : ", ") + type + "=" +
         (n >= 0 ? printable(utf8, static_cast<std::size_t>(n)) : std::string("?"));
    OPENSSL_free(utf8);
  }
  return s;
}

std::string dn_text(ByteView der) {
  const auto n = name_of(der);
  return n ? dn_text(n.get()) : "malformed DN (" + std::to_string(der.size()) + " bytes)";
}

std::optional<Bytes> dn_from_text(std::string_view text) {
  Owned<X509_NAME> name(X509_NAME_new());
  if (!name) {
    return std::nullopt;
  }
  // '/' separates too (OpenSSL's oneline form "/C=CH/O=test/CN=client").
  const char sep =
      text.find(',') == std::string_view::npos && !text.empty() && text[0] == '/' ? '/' : ',';
  std::size_t pos = 0;
  bool any = false;
  while (pos <= text.size()) {
    std::size_t end = text.find(sep, pos);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    std::string_view part = text.substr(pos, end - pos);
    while (!part.empty() && part.front() == ' ') {
      part.remove_prefix(1);
    }
    while (!part.empty() && part.back() == ' ') {
      part.remove_suffix(1);
    }
    pos = end + 1;
    if (part.empty()) {
      if (sep == '/' && end == 0) {
        continue;  // the leading '/'
      }
      return std::nullopt;
    }
    const auto eq = part.find('=');
    if (eq == std::string_view::npos || eq == 0 || eq + 1 == part.size()) {
      return std::nullopt;
    }
    std::string type(part.substr(0, eq));
    while (!type.empty() && type.back() == ' ') {
      type.pop_back();
    }
    std::string value(part.substr(eq + 1));
    while (!value.empty() && value.front() == ' ') {
      value.erase(value.begin());
    }
    // Attribute types are case-insensitive (RFC 4514 §3): "cn" is "CN".
    if (OBJ_txt2nid(type.c_str()) == NID_undef) {
      for (auto& ch : type) {
        ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      }
    }
    if (type == "E" || type == "EMAIL") {
      type = "emailAddress";
    }
    if (OBJ_txt2nid(type.c_str()) == NID_undef ||
        X509_NAME_add_entry_by_txt(name.get(), type.c_str(), MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value.data()),
                                   static_cast<int>(value.size()), -1, 0) != 1) {
      return std::nullopt;
    }
    any = true;
  }
  if (!any) {
    return std::nullopt;
  }
  auto der = der_of(name.get());
  if (der.empty()) {
    return std::nullopt;
  }
  return der;
}

bool dn_equal(ByteView a, ByteView b) {
  const auto x = name_of(a), y = name_of(b);
  return x && y && X509_NAME_cmp(x.get(), y.get()) == 0;
}

std::string identity_text(const Identification& id) {
  switch (static_cast<IdType>(id.type)) {
    case IdType::ipv4_addr:
      return id.data.size() == 4 ? ipv4_text(id.data.data()) : "?";
    case IdType::fqdn:
    case IdType::user_fqdn:
      return printable(id.data.data(), id.data.size());
    case IdType::der_asn1_dn:
      return dn_text(id.data);
    default:
      return "ID type " + std::to_string(id.type) + " (" + std::to_string(id.data.size()) +
             " bytes)";
  }
}

// ---- one certificate ----

std::optional<X509Certificate> X509Certificate::from_der(ByteView der) {
  const unsigned char* p = der.data();
  X509* x = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
  if (x == nullptr) {
    return std::nullopt;
  }
  X509Certificate c;
  c._x = share(x);
  if (p != der.data() + der.size()) {
    return std::nullopt;
  }
  return c;
}

Bytes X509Certificate::der() const {
  unsigned char* buf = nullptr;
  const int len = i2d_X509(_x.get(), &buf);
  if (len <= 0) {
    return {};
  }
  Bytes out(buf, buf + len);
  OPENSSL_free(buf);
  return out;
}

Bytes X509Certificate::subject_der() const {
  return der_of(X509_get_subject_name(_x.get()));
}

std::string X509Certificate::subject() const {
  return dn_text(X509_get_subject_name(_x.get()));
}

std::string X509Certificate::issuer() const {
  return dn_text(X509_get_issuer_name(_x.get()));
}

std::string X509Certificate::alt_names() const {
  Owned<GENERAL_NAMES> names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(_x.get(), NID_subject_alt_name, nullptr, nullptr)));
  std::string s;
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* g = sk_GENERAL_NAME_value(names.get(), i);
    std::string one;
    if (g->type == GEN_DNS || g->type == GEN_EMAIL) {
      const ASN1_IA5STRING* v = g->type == GEN_DNS ? g->d.dNSName : g->d.rfc822Name;
      one = (g->type == GEN_DNS ? "DNS:" : "email:") +
            printable(ASN1_STRING_get0_data(v), static_cast<std::size_t>(ASN1_STRING_length(v)));
    } else if (g->type == GEN_IPADD && ASN1_STRING_length(g->d.iPAddress) == 4) {
      one = "IP:" + ipv4_text(ASN1_STRING_get0_data(g->d.iPAddress));
    } else {
      continue;
    }
    s += (s.empty() ? "" : ", ") + one;
  }
  return s;
}

bool X509Certificate::names(const Identification& id) const {
  const auto type = static_cast<IdType>(id.type);
  if (type == IdType::der_asn1_dn) {
    const auto n = name_of(id.data);
    return n && X509_NAME_cmp(n.get(), X509_get_subject_name(_x.get())) == 0;
  }
  int want = 0;
  if (type == IdType::fqdn) {
    want = GEN_DNS;
  } else if (type == IdType::user_fqdn) {
    want = GEN_EMAIL;
  } else if (type == IdType::ipv4_addr) {
    want = GEN_IPADD;
  } else {
    return false;
  }
  Owned<GENERAL_NAMES> names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(_x.get(), NID_subject_alt_name, nullptr, nullptr)));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* g = sk_GENERAL_NAME_value(names.get(), i);
    if (g->type != want) {
      continue;
    }
    const ASN1_STRING* v = want == GEN_DNS     ? g->d.dNSName
                           : want == GEN_EMAIL ? g->d.rfc822Name
                                               : g->d.iPAddress;
    const std::string_view text(reinterpret_cast<const char*>(ASN1_STRING_get0_data(v)),
                                static_cast<std::size_t>(ASN1_STRING_length(v)));
    if (want == GEN_IPADD) {
      if (text.size() == id.data.size() &&
          std::equal(text.begin(), text.end(), id.data.begin(),
                     [](char a, std::uint8_t b) { return static_cast<std::uint8_t>(a) == b; })) {
        return true;
      }
    } else if (iequal(text, id.data)) {
      return true;  // DNS names and mail domains compare without case (RFC 4343)
    }
  }
  return false;
}

bool X509Certificate::verify_raw(ByteView hash, ByteView signature) const {
  EVP_PKEY* key = X509_get0_pubkey(_x.get());
  if (!is_rsa(key) || hash.empty() || signature.empty()) {
    return false;
  }
  Owned<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new(key, nullptr));
  // No signature digest is set, so OpenSSL compares the recovered block
  // with `hash` itself: PKCS#1 v1.5 type 1 without a DigestInfo, as IKEv1
  // signs (strongSwan's SIGN_RSA_EMSA_PKCS1_NULL).
  return ctx && EVP_PKEY_verify_init(ctx.get()) == 1 &&
         EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) == 1 &&
         EVP_PKEY_verify(ctx.get(), signature.data(), signature.size(), hash.data(), hash.size()) ==
             1;
}

// ---- trust ----

std::optional<TrustStore> TrustStore::from_pem(std::string_view ca_pem, std::string_view crl_pem,
                                               std::string& why) {
  TrustStore t;
  t._store = std::shared_ptr<X509_STORE>(X509_STORE_new(), X509_STORE_free);
  const auto cas = read_all<X509>(ca_pem, PEM_read_bio_X509, X509_free);
  if (cas.empty()) {
    why = "no PEM certificate in it";
    return std::nullopt;
  }
  for (const auto& ca : cas) {
    if (X509_STORE_add_cert(t._store.get(), ca.get()) != 1) {
      why = "a CA certificate cannot be added (duplicate?)";
      return std::nullopt;
    }
    t._subjects.push_back(der_of(X509_get_subject_name(ca.get())));
  }
  if (!crl_pem.empty()) {
    const auto crls = read_all<X509_CRL>(crl_pem, PEM_read_bio_X509_CRL, X509_CRL_free);
    if (crls.empty()) {
      why = "no PEM CRL in it";
      return std::nullopt;
    }
    for (const auto& crl : crls) {
      X509_STORE_add_crl(t._store.get(), crl.get());
    }
    t._crls = crls.size();
  }
  return t;
}

CertCheck TrustStore::verify(const std::vector<ByteView>& chain, std::int64_t now) const {
  CertCheck r;
  if (chain.empty()) {
    r.error = CertError::missing;
    r.detail = "the peer sent no X.509 certificate";
    return r;
  }
  std::vector<X509Certificate> certs;
  for (std::size_t i = 0; i < chain.size(); ++i) {
    auto c = X509Certificate::from_der(chain[i]);
    if (!c) {
      r.error = CertError::malformed;
      r.detail = "CERT payload " + std::to_string(i + 1) + " (" + std::to_string(chain[i].size()) +
                 " bytes) is not one DER certificate";
      return r;
    }
    certs.push_back(std::move(*c));
  }
  const X509Certificate& leaf = certs.front();
  Owned<STACK_OF(X509)> untrusted(sk_X509_new_null());
  for (std::size_t i = 1; i < certs.size() && untrusted; ++i) {
    sk_X509_push(untrusted.get(), certs[i].get());
  }
  Owned<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
  if (!ctx || !untrusted ||
      X509_STORE_CTX_init(ctx.get(), _store.get(), leaf.get(), untrusted.get()) != 1) {
    r.error = CertError::untrusted;
    r.detail = "internal error setting up the check";
    return r;
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(now));
  // Every CA in the file is an anchor, an intermediate one too.
  unsigned long flags = X509_V_FLAG_PARTIAL_CHAIN;
  if (_crls != 0) {
    flags |= X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL;
  }
  X509_VERIFY_PARAM_set_flags(param, flags);
  X509_STORE_CTX_set_verify_cb(ctx.get(), tolerate_missing_crl);
  const bool ok = X509_verify_cert(ctx.get()) == 1;
  if (!ok) {
    const int err = X509_STORE_CTX_get_error(ctx.get());
    X509* bad = X509_STORE_CTX_get_current_cert(ctx.get());
    if (bad == nullptr) {
      bad = leaf.get();
    }
    const std::string who = dn_text(X509_get_subject_name(bad));
    switch (err) {
      case X509_V_ERR_CERT_HAS_EXPIRED:
        r.error = CertError::expired;
        r.detail = who + " valid until " + time_text(X509_get0_notAfter(bad));
        break;
      case X509_V_ERR_CERT_NOT_YET_VALID:
        r.error = CertError::not_yet_valid;
        r.detail = who + " valid from " + time_text(X509_get0_notBefore(bad));
        break;
      case X509_V_ERR_CERT_REVOKED:
        r.error = CertError::revoked;
        r.detail = who + " (issuer " + dn_text(X509_get_issuer_name(bad)) + ")";
        break;
      default:
        r.error = CertError::untrusted;
        r.detail = who + " (issuer " + dn_text(X509_get_issuer_name(bad)) +
                   "): " + X509_verify_cert_error_string(err);
        break;
    }
    return r;
  }
  // RFC 5280 §4.2.1.3: a keyUsage present must allow signatures.
  if ((X509_get_extension_flags(leaf.get()) & EXFLAG_KUSAGE) != 0 &&
      (X509_get_key_usage(leaf.get()) & KU_DIGITAL_SIGNATURE) == 0) {
    r.error = CertError::key_usage;
    r.detail = leaf.subject() + ": keyUsage without digitalSignature";
    return r;
  }
  if (!is_rsa(X509_get0_pubkey(leaf.get()))) {
    r.error = CertError::not_rsa;
    r.detail = leaf.subject();
    return r;
  }
  r.leaf = leaf;
  return r;
}

// ---- our credential ----

std::optional<LocalCredential> LocalCredential::from_pem(std::string_view cert_pem,
                                                         std::string_view key_pem,
                                                         std::string& why) {
  LocalCredential c;
  const auto certs = read_all<X509>(cert_pem, PEM_read_bio_X509, X509_free);
  if (certs.empty()) {
    why = "no PEM certificate in the certificate file";
    return std::nullopt;
  }
  for (const auto& x : certs) {
    unsigned char* buf = nullptr;
    const int len = i2d_X509(x.get(), &buf);
    if (len <= 0) {
      why = "certificate cannot be encoded";
      return std::nullopt;
    }
    c._chain.emplace_back(buf, buf + len);
    OPENSSL_free(buf);
  }
  c._cert = X509Certificate::from_der(c._chain.front());
  c._subject = der_of(X509_get_subject_name(certs.front().get()));
  Owned<BIO> bio(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
  EVP_PKEY* k = bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  if (k == nullptr) {
    why = "no unencrypted PEM private key in the key file";
    return std::nullopt;
  }
  c._key = std::shared_ptr<EVP_PKEY>(k, EVP_PKEY_free);
  if (!is_rsa(k)) {
    why = "the private key is not RSA";
    return std::nullopt;
  }
  if (X509_check_private_key(certs.front().get(), k) != 1) {
    why = "the private key does not belong to the certificate";
    return std::nullopt;
  }
  return c;
}

std::string LocalCredential::subject() const {
  return _cert ? _cert->subject() : std::string();
}

std::optional<Bytes> LocalCredential::sign_raw(ByteView hash) const {
  Owned<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new(_key.get(), nullptr));
  std::size_t len = 0;
  if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1 ||
      EVP_PKEY_sign(ctx.get(), nullptr, &len, hash.data(), hash.size()) != 1) {
    return std::nullopt;
  }
  Bytes sig(len);
  if (EVP_PKEY_sign(ctx.get(), sig.data(), &len, hash.data(), hash.size()) != 1) {
    return std::nullopt;
  }
  sig.resize(len);
  return sig;
}

}  // namespace l2tpgw::ike
