#include "controlplane/ike_settings.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <libconfig.h++>
#include <sstream>

#include "controlplane/names.h"
#include "dataplane/config/config.h"
#include "dataplane/config/settings.h"

namespace l2tpgw::cp {
namespace {

using config_detail::Reader;
using config_detail::Setting;

ike::SecretBytes read_psk(const Reader& r, const Setting& s) {
  const std::string v = r.as_string(s);
  // RFC 2409 §5.4 leaves the length open; a short key falls to an offline
  // dictionary attack on a single captured exchange.
  if (v.size() < 8) {
    r.fail(s, "pre-shared key shorter than 8 characters");
  }
  return ike::SecretBytes(v.begin(), v.end());
}

bool same_id(const IkePeerKey& a, const IkePeerKey& b) {
  if (!a.id_dn.empty() || !b.id_dn.empty()) {
    return ike::dn_equal(a.id_dn, b.id_dn);
  }
  return a.id == b.id;
}

void read_peers(const Reader& r, const Setting& list, IkeSettings& out) {
  r.require_list(list);
  for (int i = 0; i < list.getLength(); ++i) {
    const Setting& g = list[i];
    r.require_group(g);
    r.check_keys(g, {"address", "id", "psk", "auth", "aggressive"});
    IkePeerKey k;
    if (auto a = r.opt_string(g, "auth")) {
      if (*a == "rsa") {
        k.auth = ike::AuthMethod::rsa_sig;
      } else if (*a != "psk") {
        r.fail(r.require(g, "auth"), "auth must be \"psk\" or \"rsa\", not '" + *a + "'");
      }
    }
    if (const Setting* a = r.find(g, "address")) {
      const auto v = parse_ipv4(r.as_string(*a));
      if (!v) {
        r.fail(*a, "'" + r.as_string(*a) + "' is not an IPv4 address");
      }
      k.address = *v;
    }
    if (auto id = r.opt_string(g, "id")) {
      if (id->empty()) {
        r.fail(r.require(g, "id"), "id must not be empty");
      }
      k.id = *id;
    }
    if (k.auth == ike::AuthMethod::psk) {
      if (!k.address.has_value() == k.id.empty()) {
        r.fail(g, "a peer key names exactly one of address or id");
      }
      k.psk = read_psk(r, r.require(g, "psk"));
    } else {
      if (!k.address && k.id.empty()) {
        r.fail(g, "an rsa peer names an address, an id or both");
      }
      if (const Setting* p = r.find(g, "psk")) {
        r.fail(*p, "an rsa peer takes no psk");
      }
      if (!out.certificates()) {
        r.fail(r.require(g, "auth"), "auth = \"rsa\" needs ca, certificate and private_key");
      }
      // A DN has TYPE=value parts; anything else is an FQDN, user FQDN or
      // dotted quad, compared with the certified ID as the peer sends it.
      if (k.id.find('=') != std::string::npos) {
        auto dn = ike::dn_from_text(k.id);
        if (!dn) {
          r.fail(r.require(g, "id"),
                 "id '" + k.id + "' is not a distinguished name like \"C=CH, O=test, CN=client\"");
        }
        k.id_dn = std::move(*dn);
      }
    }
    if (const Setting* a = r.find(g, "aggressive")) {
      k.aggressive = r.as_bool(*a);
    }
    for (const auto& other : out.peers) {
      if ((k.address && other.address == k.address) ||
          (!k.id.empty() && !other.id.empty() && same_id(k, other))) {
        r.fail(g, "a second entry for the same peer");
      }
    }
    out.peers.push_back(std::move(k));
  }
}

std::string resolve(const Reader& r, const std::string& v) {
  const std::filesystem::path p(v);
  return p.is_absolute()
             ? p.string()
             : (std::filesystem::path(r.file()).parent_path() / p).lexically_normal().string();
}

// A whole PEM file, or an error at the setting naming the path.
std::string read_pem(const Reader& r, const Setting& s, const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    r.fail(s, "cannot read '" + path + "': " + std::strerror(errno));
  }
  std::ostringstream text;
  text << f.rdbuf();
  return text.str();
}

void read_certificates(const Reader& r, const Setting& g, IkeSettings& out) {
  const Setting* ca = r.find(g, "ca");
  const Setting* cert = r.find(g, "certificate");
  const Setting* key = r.find(g, "private_key");
  const Setting* crl = r.find(g, "crl");
  if (ca == nullptr && cert == nullptr && key == nullptr) {
    if (crl != nullptr) {
      r.fail(*crl, "crl without ca, certificate and private_key");
    }
    return;
  }
  if (ca == nullptr || cert == nullptr || key == nullptr) {
    const Setting& some = ca != nullptr ? *ca : cert != nullptr ? *cert : *key;
    r.fail(some, "RSA signatures need ca, certificate and private_key together");
  }
  out.ca_path = resolve(r, r.as_string(*ca));
  out.certificate_path = resolve(r, r.as_string(*cert));
  out.private_key_path = resolve(r, r.as_string(*key));
  std::string crl_pem;
  if (crl != nullptr) {
    out.crl_path = resolve(r, r.as_string(*crl));
    crl_pem = read_pem(r, *crl, out.crl_path);
  }
  std::string why;
  const auto ca_pem = read_pem(r, *ca, out.ca_path);
  auto trust = ike::TrustStore::from_pem(ca_pem, {}, why);
  if (!trust) {
    r.fail(*ca, "'" + out.ca_path + "': " + why);
  }
  if (crl != nullptr) {
    trust = ike::TrustStore::from_pem(ca_pem, crl_pem, why);
    if (!trust) {
      r.fail(*crl, "'" + out.crl_path + "': " + why);
    }
  }
  const auto cert_pem = read_pem(r, *cert, out.certificate_path);
  auto key_pem = read_pem(r, *key, out.private_key_path);
  auto cred = ike::LocalCredential::from_pem(cert_pem, key_pem, why);
  ike::wipe(key_pem.data(), key_pem.size());
  if (!cred) {
    const bool about_key = why.find("key") != std::string::npos;
    r.fail(about_key ? *key : *cert,
           "'" + (about_key ? out.private_key_path : out.certificate_path) + "': " + why);
  }
  out.trust = std::make_shared<const ike::TrustStore>(std::move(*trust));
  out.credential = std::make_shared<const ike::LocalCredential>(std::move(*cred));
}

// Networks, not addresses: a prefix with host bits set is a typo the
// operator should see, not something to round silently.
void read_tunnel_networks(const Reader& r, const Setting& g, IkeSettings& out) {
  if (const Setting* list = r.find(g, "tunnel_networks")) {
    r.require_list(*list);
    for (int i = 0; i < list->getLength(); ++i) {
      const std::string v = r.as_string((*list)[i]);
      const auto p = parse_prefix(v);
      if (!p) {
        r.fail((*list)[i], "'" + v + "' is not an IPv4 prefix like \"10.9.0.0/24\"");
      }
      if (!wire::is_network(p->addr, p->len)) {
        r.fail((*list)[i], "'" + v + "' has host bits set: the network is " +
                               prefix_text({p->addr & wire::prefix_mask(p->len), p->len, {}}));
      }
      out.tunnel_networks.push_back(*p);
    }
  }
  if (out.allow_tunnel && out.tunnel_networks.empty()) {
    r.fail(r.require(g, "allow_tunnel"),
           "allow_tunnel = true needs tunnel_networks, the inside networks tunnel-mode peers may "
           "reach (e.g. [ \"10.9.0.0/24\" ])");
  }
}

std::uint32_t u32(const Reader& r, const Setting& g, const char* key, std::uint32_t dflt,
                  std::int64_t min, std::int64_t max) {
  const auto v = r.opt_int(g, key, min, max);
  return v ? static_cast<std::uint32_t>(*v) : dflt;
}

std::chrono::milliseconds secs(const Reader& r, const Setting& g, const char* key,
                               std::chrono::milliseconds dflt, std::int64_t min, std::int64_t max) {
  const auto v = r.opt_int(g, key, min, max);
  return v ? std::chrono::milliseconds(*v * 1000) : dflt;
}

void read_ike(const Reader& r, const Setting& g, IkeSettings& out) {
  r.require_group(g);
  r.check_keys(g, {"psk",
                   "peers",
                   "local_id",
                   "allow_md5",
                   "allow_modp1024",
                   "allow_tunnel",
                   "tunnel_networks",
                   "esp_sha256_icv_bits",
                   "ike_lifetime",
                   "sa_lifetime",
                   "sa_lifetime_kb",
                   "max_half_open",
                   "max_half_open_per_peer",
                   "max_ike_sas_per_peer",
                   "retransmit_interval",
                   "retransmits",
                   "dpd_interval",
                   "dpd_failures",
                   "nat_keepalive",
                   "fragment_size",
                   "ca",
                   "certificate",
                   "private_key",
                   "crl"});
  read_certificates(r, g, out);
  if (const Setting* s = r.find(g, "psk")) {
    out.default_psk = read_psk(r, *s);
  }
  if (const Setting* s = r.find(g, "peers")) {
    read_peers(r, *s, out);
  }
  if (auto v = r.opt_string(g, "local_id")) {
    out.local_id = *v;
  }
  out.allow_md5 = r.opt_bool(g, "allow_md5").value_or(out.allow_md5);
  out.allow_modp1024 = r.opt_bool(g, "allow_modp1024").value_or(out.allow_modp1024);
  out.allow_tunnel = r.opt_bool(g, "allow_tunnel").value_or(out.allow_tunnel);
  if (const Setting* v = r.find(g, "esp_sha256_icv_bits")) {
    const auto bits = u32(r, g, "esp_sha256_icv_bits", out.esp_sha256_icv_bits, 96, 128);
    if (bits != 96 && bits != 128) {
      r.fail(*v, "esp_sha256_icv_bits must be 128 (RFC 4868) or 96 (the earlier draft)");
    }
    out.esp_sha256_icv_bits = static_cast<std::uint8_t>(bits);
  }
  // Lifetimes: at least 2 minutes so rekeying cannot become a flood, at
  // most a day (RFC 4109 §3 asks implementations to support 86400 s).
  out.ike_lifetime_s = u32(r, g, "ike_lifetime", out.ike_lifetime_s, 120, 86400);
  out.sa_lifetime_s = u32(r, g, "sa_lifetime", out.sa_lifetime_s, 120, 86400);
  out.sa_lifetime_kb = u32(r, g, "sa_lifetime_kb", out.sa_lifetime_kb, 0, 0xffffffffLL);
  out.max_half_open = u32(r, g, "max_half_open", out.max_half_open, 1, 1'000'000);
  out.max_half_open_per_peer =
      u32(r, g, "max_half_open_per_peer", out.max_half_open_per_peer, 1, 65535);
  out.max_ike_sas_per_peer = u32(r, g, "max_ike_sas_per_peer", out.max_ike_sas_per_peer, 1, 65535);
  out.retransmit_interval = secs(r, g, "retransmit_interval", out.retransmit_interval, 1, 60);
  out.retransmits = u32(r, g, "retransmits", out.retransmits, 0, 20);
  out.dpd_interval = secs(r, g, "dpd_interval", out.dpd_interval, 0, 3600);
  out.dpd_failures = u32(r, g, "dpd_failures", out.dpd_failures, 1, 100);
  out.nat_keepalive = secs(r, g, "nat_keepalive", out.nat_keepalive, 0, 3600);
  // 576: every IPv4 host takes it (RFC 791); above 9000 no link carries it.
  out.fragment_size = u32(r, g, "fragment_size", out.fragment_size, 576, 9000);
  if (out.max_half_open_per_peer > out.max_half_open) {
    const Setting* s = r.find(g, "max_half_open_per_peer");
    r.fail(s != nullptr ? *s : r.require(g, "max_half_open"),
           "max_half_open_per_peer exceeds max_half_open");
  }
  if (!out.default_psk && !out.certificates() &&
      std::none_of(out.peers.begin(), out.peers.end(),
                   [](const IkePeerKey& p) { return p.auth == ike::AuthMethod::psk; })) {
    r.fail(g, "no pre-shared key and no certificate: set psk, peers or ca/certificate/private_key");
  }
  read_tunnel_networks(r, g, out);
}

}  // namespace

std::optional<ike::SecretBytes> IkeSettings::psk_for_address(std::uint32_t addr) const {
  for (const auto& p : peers) {
    if (p.address == addr) {
      return p.psk;
    }
  }
  return default_psk;
}

std::vector<const IkePeerKey*> IkeSettings::id_keys() const {
  std::vector<const IkePeerKey*> out;
  for (const auto& p : peers) {
    if (!p.id.empty() && p.auth == ike::AuthMethod::psk) {
      out.push_back(&p);
    }
  }
  return out;
}

bool IkePeerKey::matches(const ike::Identification& peer) const {
  if (!id_dn.empty()) {
    return peer.type == static_cast<std::uint8_t>(ike::IdType::der_asn1_dn) &&
           ike::dn_equal(peer.data, id_dn);
  }
  switch (static_cast<ike::IdType>(peer.type)) {
    case ike::IdType::ipv4_addr:
      return ike::identity_text(peer) == id;
    case ike::IdType::fqdn:
    case ike::IdType::user_fqdn: {
      const std::string text = ike::identity_text(peer);
      return text.size() == id.size() &&
             std::equal(text.begin(), text.end(), id.begin(), [](char a, char b) {
               return std::tolower(static_cast<unsigned char>(a)) ==
                      std::tolower(static_cast<unsigned char>(b));
             });
    }
    default:
      return false;
  }
}

bool IkeSettings::psk_possible() const {
  return default_psk.has_value() || !id_keys().empty();
}

const IkePeerKey* IkeSettings::aggressive_peer(std::uint32_t addr,
                                               const ike::Identification& id) const {
  // The entry for the ID decides when there is one (it is the more
  // specific), else the entry for the source address; an rsa entry with
  // both takes only its own ID, as authorize() would once it is proven.
  for (const auto& p : peers) {
    if (!p.id.empty() && p.matches(id)) {
      return p.aggressive && (!p.address || p.address == addr) ? &p : nullptr;
    }
  }
  const IkePeerKey* p = peer_at(addr);
  if (p == nullptr || !p->aggressive) {
    return nullptr;
  }
  return p->auth == ike::AuthMethod::psk || p->id.empty() || p->matches(id) ? p : nullptr;
}

const IkePeerKey* IkeSettings::peer_at(std::uint32_t addr) const {
  for (const auto& p : peers) {
    if (p.address == addr) {
      return &p;
    }
  }
  return nullptr;
}

namespace {

std::string_view method_name(ike::AuthMethod m) {
  return m == ike::AuthMethod::psk ? "psk" : "rsa";
}

}  // namespace

std::string IkeSettings::authorize(std::uint32_t addr, const ike::Identification& id,
                                   ike::AuthMethod method) const {
  if (const IkePeerKey* p = peer_at(addr)) {
    if (p->auth != method) {
      return "this address is configured for auth " + std::string(method_name(p->auth));
    }
    if (method == ike::AuthMethod::rsa_sig && !p->id.empty() && !p->matches(id)) {
      return "this address is configured for ID " + p->id;
    }
    return {};
  }
  bool rsa_list = false;
  for (const auto& p : peers) {
    if (!p.id.empty() && p.matches(id)) {
      if (p.auth != method) {
        return "this ID is configured for auth " + std::string(method_name(p.auth));
      }
      if (p.address) {
        return "this ID is configured for address " + format_ipv4(*p.address);
      }
      return {};
    }
    rsa_list = rsa_list || (p.auth == ike::AuthMethod::rsa_sig && !p.id.empty() && !p.address);
  }
  // rsa peers listed by ID alone are the list of identities a certificate
  // may authenticate; with none, every ID our CAs certify is accepted.
  if (method == ike::AuthMethod::rsa_sig && rsa_list) {
    return "not the ID of any rsa peer";
  }
  return {};
}

IkeSettings load_ike_settings(const std::string& path) {
  libconfig::Config lc;
  config_detail::read_file(lc, path);
  const Reader r(path);
  IkeSettings out;
  try {
    if (const Setting* g = r.find(lc.getRoot(), "ike")) {
      read_ike(r, *g, out);
      out.enabled = true;
    }
  } catch (const libconfig::SettingException& e) {
    throw ConfigError(path + ": " + e.what() + " at " + e.getPath());
  }
  return out;
}

}  // namespace l2tpgw::cp
