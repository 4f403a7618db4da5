#include "controlplane/ike/proposal.h"

#include <algorithm>
#include <limits>

#include "controlplane/ike/wire_util.h"

namespace l2tpgw::ike {

namespace {

std::optional<Hash> to_hash(std::uint64_t v) {
  switch (v) {
    case 1:
      return Hash::md5;
    case 2:
      return Hash::sha1;
    case 4:
      return Hash::sha256;
    case 5:
      return Hash::sha384;
    case 6:
      return Hash::sha512;
    default:
      return std::nullopt;
  }
}

std::optional<DhGroup> to_group(std::uint64_t v) {
  switch (v) {
    case 2:
      return DhGroup::modp1024;
    case 5:
      return DhGroup::modp1536;
    case 14:
      return DhGroup::modp2048;
    case 15:
      return DhGroup::modp3072;
    case 16:
      return DhGroup::modp4096;
    case 19:
      return DhGroup::ecp256;
    case 20:
      return DhGroup::ecp384;
    default:
      return std::nullopt;
  }
}

std::uint32_t clamp32(std::uint64_t v) {
  return static_cast<std::uint32_t>(
      std::min<std::uint64_t>(v, std::numeric_limits<std::uint32_t>::max()));
}

std::string num(std::uint64_t v) {
  return std::to_string(v);
}

// Records a life duration against the life type announced before it
// (RFC 2409 Appendix A: a Life Type is followed by its Life Duration).
struct LifeTracker {
  std::uint16_t current = 0;
  std::uint32_t seconds = 0;
  std::uint32_t kilobytes = 0;

  std::string type(std::uint64_t v) {
    current = static_cast<std::uint16_t>(v);
    if (v != life_seconds_type && v != life_kilobytes_type) {
      return "life type " + num(v) + " unknown";
    }
    return {};
  }

  std::string duration(const Attribute& a) {
    const auto v = a.integer();
    if (!v) {
      return "life duration of " + num(a.value.size()) + " bytes";
    }
    if (current == life_seconds_type) {
      seconds = clamp32(*v);
    } else if (current == life_kilobytes_type) {
      kilobytes = clamp32(*v);
    } else {
      return "life duration without a life type";
    }
    return {};
  }
};

std::string life_text(std::uint32_t seconds, std::uint32_t kilobytes) {
  std::string s;
  if (seconds != 0) {
    s += " " + num(seconds) + "s";
  }
  if (kilobytes != 0) {
    s += " " + num(kilobytes) + "KB";
  }
  return s;
}

// "#proposal.transform " and either the problem or what was offered.
std::string transform_text(std::uint8_t p, std::uint8_t t, const std::string& problem,
                           const std::string& offer) {
  const std::string label = "#" + num(p) + "." + num(t) + " ";
  if (!problem.empty()) {
    return label + "(" + problem + ")";
  }
  return label + offer;
}

// Records only the first problem a transform shows: it is the one reported.
auto first_problem(std::string& problem) {
  return [&problem](std::string why) {
    if (problem.empty()) {
      problem = std::move(why);
    }
  };
}

std::string value_size_problem(const Attribute& a) {
  return "attribute " + num(a.type) + " has a " + num(a.value.size()) + "-byte value";
}

// RFC 3602 §5: AES carries a Key Length attribute; 3DES has one size.
std::string key_length_problem(bool aes, std::optional<std::uint64_t> key_len) {
  if (aes) {
    if (!key_len) {
      return "AES without a key length";
    }
    if (*key_len != 128 && *key_len != 192 && *key_len != 256) {
      return "AES key length " + num(*key_len);
    }
  } else if (key_len && *key_len != 192) {
    return "3DES key length " + num(*key_len);
  }
  return {};
}

// Lists one decoded transform in `m.offered` (with why it is refused) and
// chooses it when it is the first acceptable one (RFC 2408 §4.2: the
// initiator's order is its preference).
template <typename Match, typename Decoded, typename Refusal>
void consider(Match& m, Decoded d, const Proposal& p, const Transform& t, Refusal&& refusal) {
  if (d.problem.empty()) {
    if (auto why = refusal(d); !why.empty()) {
      d.problem = d.suite.describe() + ": " + why;
    }
  }
  if (!m.offered.empty()) {
    m.offered += ", ";
  }
  m.offered += d.describe();
  if (d.problem.empty() && !m.chosen) {
    m.chosen = std::move(d);
    m.proposal = &p;
    m.transform = &t;
  }
}

std::string no_proposal_chosen(const std::string& offered, const std::string& configured) {
  return "no proposal chosen: offered [" + offered + "]; configured [" + configured + "]";
}

}  // namespace

// ---- phase 1 ----

std::string Phase1Suite::describe() const {
  std::string s(name(cipher.cipher));
  s += "-" + num(cipher.key_bits) + "/" + std::string(name(hash)) + "/" + std::string(name(group)) +
       "/" + std::string(name(auth));
  return s;
}

std::string Phase1Transform::describe() const {
  return transform_text(proposal_number, transform_number, problem,
                        suite.describe() + life_text(life_seconds, life_kilobytes));
}

Phase1Transform decode_phase1(const Proposal& p, const Transform& t) {
  Phase1Transform out;
  out.proposal_number = p.number;
  out.transform_number = t.number;
  auto fail = first_problem(out.problem);
  if (p.protocol != static_cast<std::uint8_t>(ProtocolId::isakmp)) {
    fail("protocol " + num(p.protocol) + " is not ISAKMP");
  }
  if (t.id != key_ike) {
    fail("transform id " + num(t.id) + " is not KEY_IKE");
  }
  bool have_enc = false, have_hash = false, have_auth = false, have_group = false;
  std::optional<std::uint64_t> key_len;
  std::uint64_t enc = 0;
  LifeTracker life;
  for (const auto& a : t.attributes) {
    const auto v = a.integer();
    if (!v && a.type != p1_attr::life_duration) {
      fail(value_size_problem(a));
      continue;
    }
    switch (a.type) {
      case p1_attr::encryption:
        have_enc = true;
        enc = *v;
        break;
      case p1_attr::hash:
        if (auto h = to_hash(*v)) {
          have_hash = true;
          out.suite.hash = *h;
        } else {
          fail("hash " + num(*v) + " not supported");
        }
        break;
      case p1_attr::auth_method:
        if (*v == static_cast<std::uint64_t>(AuthMethod::psk) ||
            *v == static_cast<std::uint64_t>(AuthMethod::rsa_sig)) {
          have_auth = true;
          out.suite.auth = static_cast<AuthMethod>(*v);
        } else if (is_xauth_method(*v)) {
          fail("XAUTH/hybrid auth method " + num(*v) + " refused");
        } else {
          fail("auth method " + num(*v) + " not supported");
        }
        break;
      case p1_attr::group:
        if (auto g = to_group(*v)) {
          have_group = true;
          out.suite.group = *g;
        } else {
          fail("DH group " + num(*v) + " not supported");
        }
        break;
      case p1_attr::life_type:
        fail(life.type(*v));
        break;
      case p1_attr::life_duration:
        if (auto why = life.duration(a); !why.empty()) {
          fail(why);
        }
        break;
      case p1_attr::key_length:
        key_len = *v;
        break;
      default:
        // Custom groups (5-10, 15, 16), PRF (13) and private attributes.
        fail("attribute " + num(a.type) + " not supported");
        break;
    }
  }
  if (have_enc) {
    if (enc == static_cast<std::uint64_t>(Cipher::aes_cbc)) {
      out.suite.cipher.cipher = Cipher::aes_cbc;
      if (auto why = key_length_problem(true, key_len); !why.empty()) {
        fail(std::move(why));
      } else {
        out.suite.cipher.key_bits = static_cast<std::uint16_t>(*key_len);
      }
    } else if (enc == static_cast<std::uint64_t>(Cipher::des3_cbc)) {
      out.suite.cipher = {Cipher::des3_cbc, 192};
      fail(key_length_problem(false, key_len));
    } else {
      fail("encryption " + num(enc) + (enc == 1 ? " (DES)" : "") + " not supported");
    }
  }
  if (!have_enc || !have_hash || !have_auth || !have_group) {
    fail("missing encryption, hash, auth method or group");
  }
  out.life_seconds = life.seconds;
  out.life_kilobytes = life.kilobytes;
  return out;
}

std::string Phase1Policy::refusal(const Phase1Suite& s) const {
  if (s.hash == Hash::md5 && !allow_md5) {
    return "MD5 refused";
  }
  if (s.group == DhGroup::modp1024 && !allow_modp1024) {
    return "MODP1024 refused";
  }
  if (std::find(suites.begin(), suites.end(), s) == suites.end()) {
    return "not configured";
  }
  return {};
}

namespace {

template <typename T>
void add_unique(std::vector<T>& v, const T& x) {
  if (std::find(v.begin(), v.end(), x) == v.end()) {
    v.push_back(x);
  }
}

template <typename T, typename F>
std::string set_text(const std::vector<T>& v, F&& text) {
  std::string s = v.size() > 1 ? "{" : "";
  for (std::size_t i = 0; i < v.size(); ++i) {
    s += (i ? "," : "") + text(v[i]);
  }
  return s + (v.size() > 1 ? "}" : "");
}

}  // namespace

std::string Phase1Policy::describe() const {
  std::vector<Phase1Suite> accepted;
  std::vector<CipherSpec> ciphers;
  std::vector<Hash> hashes;
  std::vector<DhGroup> groups;
  std::vector<AuthMethod> auths;
  for (const auto& suite : suites) {
    if (!refusal(suite).empty()) {
      continue;
    }
    add_unique(accepted, suite);
    add_unique(ciphers, suite.cipher);
    add_unique(hashes, suite.hash);
    add_unique(groups, suite.group);
    add_unique(auths, suite.auth);
  }
  if (accepted.empty()) {
    return "nothing";
  }
  // A full cross product (the default policy) reads better as four sets.
  if (accepted.size() == ciphers.size() * hashes.size() * groups.size() * auths.size()) {
    return set_text(
               ciphers,
               [](CipherSpec c) { return std::string(name(c.cipher)) + "-" + num(c.key_bits); }) +
           "/" + set_text(hashes, [](Hash h) { return std::string(name(h)); }) + "/" +
           set_text(groups, [](DhGroup g) { return std::string(name(g)); }) + "/" +
           set_text(auths, [](AuthMethod a) { return std::string(name(a)); });
  }
  std::string s;
  for (const auto& suite : accepted) {
    s += (s.empty() ? "" : ", ") + suite.describe();
  }
  return s;
}

Phase1Policy default_phase1_policy() {
  Phase1Policy p;
  // Strongest first; the matcher follows the peer's order, this order only
  // shapes the log line.
  const CipherSpec ciphers[] = {
      {Cipher::aes_cbc, 256}, {Cipher::aes_cbc, 128}, {Cipher::des3_cbc, 192}};
  const Hash hashes[] = {Hash::sha256, Hash::sha1, Hash::sha384, Hash::sha512};
  const DhGroup groups[] = {DhGroup::ecp384,   DhGroup::ecp256,   DhGroup::modp4096,
                            DhGroup::modp3072, DhGroup::modp2048, DhGroup::modp1536,
                            DhGroup::modp1024};
  for (const auto auth : {AuthMethod::psk, AuthMethod::rsa_sig}) {
    for (const auto g : groups) {
      for (const auto& c : ciphers) {
        for (const auto h : hashes) {
          p.suites.push_back({c, h, auth, g});
        }
      }
    }
  }
  return p;
}

std::string Phase1Match::failure() const {
  return no_proposal_chosen(offered, configured);
}

Phase1Match match_phase1(const SecurityAssociation& sa, const Phase1Policy& policy) {
  Phase1Match m;
  m.configured = policy.describe();
  for (const auto& p : sa.proposals) {
    for (const auto& t : p.transforms) {
      consider(m, decode_phase1(p, t), p, t,
               [&](const Phase1Transform& d) { return policy.refusal(d.suite); });
    }
  }
  return m;
}

Bytes reply_sa(const SecurityAssociation& sa, const Proposal& p, const Transform& t, ByteView spi) {
  ProposalSpec ps;
  ps.number = p.number;
  ps.protocol = p.protocol;
  const ByteView s = spi.empty() ? p.spi : spi;
  ps.spi.assign(s.begin(), s.end());
  TransformSpec ts;
  ts.number = t.number;
  ts.id = t.id;
  const ByteView attrs = t.whole.subspan(8);
  ts.attributes.assign(attrs.begin(), attrs.end());
  ps.transforms.push_back(std::move(ts));
  return encode_sa(sa.doi, sa.situation, std::span<const ProposalSpec>(&ps, 1));
}

Bytes offer_sa(const Phase1Suite& s, std::uint32_t life_seconds) {
  TransformSpec ts;
  ts.number = 1;
  ts.id = key_ike;
  Bytes& a = ts.attributes;
  append_attribute_tv(a, p1_attr::encryption, static_cast<std::uint16_t>(s.cipher.cipher));
  if (s.cipher.cipher == Cipher::aes_cbc) {
    append_attribute_tv(a, p1_attr::key_length, s.cipher.key_bits);
  }
  append_attribute_tv(a, p1_attr::hash, static_cast<std::uint16_t>(s.hash));
  append_attribute_tv(a, p1_attr::auth_method, static_cast<std::uint16_t>(s.auth));
  append_attribute_tv(a, p1_attr::group, static_cast<std::uint16_t>(s.group));
  if (life_seconds != 0) {
    append_attribute_tv(a, p1_attr::life_type, life_seconds_type);
    append_attribute_int(a, p1_attr::life_duration, life_seconds);
  }
  ProposalSpec ps;
  ps.protocol = static_cast<std::uint8_t>(ProtocolId::isakmp);
  ps.transforms.push_back(std::move(ts));
  return encode_sa(doi_ipsec, sit_identity_only, std::span<const ProposalSpec>(&ps, 1));
}

std::string check_chosen(const SecurityAssociation& sa, const Phase1Suite& s) {
  if (sa.proposals.size() != 1 || sa.proposals[0].transforms.size() != 1) {
    return num(sa.proposals.size()) + " proposals where one with one transform answers an offer";
  }
  const auto t = decode_phase1(sa.proposals[0], sa.proposals[0].transforms[0]);
  if (!t.problem.empty()) {
    return "the chosen transform: " + t.problem;
  }
  if (!(t.suite == s)) {
    return "chose " + t.suite.describe() + ", offered " + s.describe();
  }
  return {};
}

// ---- phase 2 ----

namespace {

std::string_view esp_name(EspId id) {
  return id == EspId::aes_cbc ? "AES-CBC" : "3DES-CBC";
}

std::string_view auth_name(EspAuthAlg a) {
  switch (a) {
    case EspAuthAlg::hmac_md5:
      return "HMAC-MD5";
    case EspAuthAlg::hmac_sha1:
      return "HMAC-SHA1";
    case EspAuthAlg::hmac_sha256:
      return "HMAC-SHA2-256";
    case EspAuthAlg::hmac_sha384:
      return "HMAC-SHA2-384";
    case EspAuthAlg::hmac_sha512:
      return "HMAC-SHA2-512";
  }
  return "?";
}

std::string_view encap_name(EncapMode m) {
  switch (m) {
    case EncapMode::tunnel:
      return "tunnel";
    case EncapMode::transport:
      return "transport";
    case EncapMode::udp_tunnel:
      return "udp-tunnel";
    case EncapMode::udp_transport:
      return "udp-transport";
    case EncapMode::udp_tunnel_draft:
      return "udp-tunnel(draft)";
    case EncapMode::udp_transport_draft:
      return "udp-transport(draft)";
  }
  return "?";
}

}  // namespace

std::string Phase2Suite::describe() const {
  return "ESP " + std::string(esp_name(cipher)) + "-" + num(key_bits) + "/" +
         std::string(auth_name(auth));
}

std::string Phase2Transform::describe() const {
  std::string s = suite.describe() + " " + std::string(encap_name(encapsulation));
  if (pfs_group) {
    s += " PFS " + std::string(name(*pfs_group));
  }
  return transform_text(proposal_number, transform_number, problem,
                        s + life_text(life_seconds, life_kilobytes));
}

Bytes offer_sa(const Phase2Transform& t, std::uint32_t spi, std::uint32_t life_seconds,
               std::uint32_t life_kilobytes) {
  TransformSpec ts;
  ts.number = 1;
  ts.id = static_cast<std::uint8_t>(t.suite.cipher);
  Bytes& a = ts.attributes;
  if (life_seconds != 0) {
    append_attribute_tv(a, p2_attr::life_type, life_seconds_type);
    append_attribute_int(a, p2_attr::life_duration, life_seconds);
  }
  if (life_kilobytes != 0) {
    append_attribute_tv(a, p2_attr::life_type, life_kilobytes_type);
    append_attribute_int(a, p2_attr::life_duration, life_kilobytes);
  }
  append_attribute_tv(a, p2_attr::encapsulation, static_cast<std::uint16_t>(t.encapsulation));
  append_attribute_tv(a, p2_attr::auth_algorithm, static_cast<std::uint16_t>(t.suite.auth));
  if (t.suite.cipher == EspId::aes_cbc) {
    append_attribute_tv(a, p2_attr::key_length, t.suite.key_bits);
  }
  if (t.pfs_group) {
    append_attribute_tv(a, p2_attr::group, static_cast<std::uint16_t>(*t.pfs_group));
  }
  ProposalSpec ps;
  ps.protocol = static_cast<std::uint8_t>(ProtocolId::esp);
  put32(ps.spi, spi);
  ps.transforms.push_back(std::move(ts));
  return encode_sa(doi_ipsec, sit_identity_only, std::span<const ProposalSpec>(&ps, 1));
}

Phase2Transform decode_phase2(const Proposal& p, const Transform& t) {
  Phase2Transform out;
  out.proposal_number = p.number;
  out.transform_number = t.number;
  auto fail = first_problem(out.problem);
  if (p.protocol != static_cast<std::uint8_t>(ProtocolId::esp)) {
    fail("protocol " + num(p.protocol) + " is not ESP");
  }
  if (p.spi.size() != 4) {
    fail("SPI of " + num(p.spi.size()) + " bytes");
  } else {
    out.spi = get32(p.spi, 0);
  }
  if (t.id == static_cast<std::uint8_t>(EspId::aes_cbc)) {
    out.suite.cipher = EspId::aes_cbc;
  } else if (t.id == static_cast<std::uint8_t>(EspId::des3)) {
    out.suite = {EspId::des3, 192, out.suite.auth};
  } else {
    fail("ESP transform " + num(t.id) + " not supported");
  }
  bool have_auth = false, have_encap = false;
  std::optional<std::uint64_t> key_len;
  LifeTracker life;
  for (const auto& a : t.attributes) {
    const auto v = a.integer();
    if (!v) {
      fail(value_size_problem(a));
      continue;
    }
    switch (a.type) {
      case p2_attr::life_type:
        fail(life.type(*v));
        break;
      case p2_attr::life_duration:
        if (auto why = life.duration(a); !why.empty()) {
          fail(why);
        }
        break;
      case p2_attr::group:
        if (auto g = to_group(*v)) {
          out.pfs_group = *g;
        } else {
          fail("PFS group " + num(*v) + " not supported");
        }
        break;
      case p2_attr::encapsulation:
        switch (*v) {
          case 1:
          case 2:
          case 3:
          case 4:
          case 61443:
          case 61444:
            have_encap = true;
            out.encapsulation = static_cast<EncapMode>(*v);
            break;
          default:
            fail("encapsulation mode " + num(*v) + " unknown");
        }
        break;
      case p2_attr::auth_algorithm:
        switch (*v) {
          case 1:
          case 2:
          case 5:
          case 6:
          case 7:
            have_auth = true;
            out.suite.auth = static_cast<EspAuthAlg>(*v);
            break;
          default:
            fail("auth algorithm " + num(*v) + " not supported");
        }
        break;
      case p2_attr::key_length:
        key_len = *v;
        break;
      default:
        fail("attribute " + num(a.type) + " not supported");
        break;
    }
  }
  const bool aes = out.suite.cipher == EspId::aes_cbc;
  if (auto why = key_length_problem(aes, key_len); !why.empty()) {
    fail(std::move(why));
  } else if (aes) {
    out.suite.key_bits = static_cast<std::uint16_t>(*key_len);
  }
  if (!have_auth) {
    fail("ESP without authentication");  // confidentiality alone is refused
  }
  if (!have_encap) {
    fail("no encapsulation mode");
  }
  out.life_seconds = life.seconds;
  out.life_kilobytes = life.kilobytes;
  return out;
}

std::string Phase2Policy::refusal(const Phase2Transform& t) const {
  if (t.suite.auth == EspAuthAlg::hmac_md5 && !allow_md5) {
    return "HMAC-MD5 refused";
  }
  if (std::find(suites.begin(), suites.end(), t.suite) == suites.end()) {
    return "not configured";
  }
  if (is_transport(t.encapsulation) ? !allow_transport : !allow_tunnel) {
    return std::string(encap_name(t.encapsulation)) + " mode refused";
  }
  if (t.pfs_group) {
    if (*t.pfs_group == DhGroup::modp1024 && !allow_modp1024) {
      return "PFS MODP1024 refused";
    }
    if (std::find(pfs_groups.begin(), pfs_groups.end(), *t.pfs_group) == pfs_groups.end()) {
      return "PFS group not configured";
    }
  }
  if (!to_dataplane(t.suite, sha256_icv_bits)) {
    return "not implemented by the data plane";
  }
  return {};
}

std::string Phase2Policy::describe() const {
  std::string s;
  for (const auto& suite : suites) {
    if (!s.empty()) {
      s += ", ";
    }
    s += suite.describe();
  }
  s += allow_transport ? (allow_tunnel ? " transport|tunnel" : " transport") : " tunnel";
  return s;
}

Phase2Policy default_phase2_policy() {
  Phase2Policy p;
  for (const auto auth : {EspAuthAlg::hmac_sha1, EspAuthAlg::hmac_sha256}) {
    p.suites.push_back({EspId::aes_cbc, 256, auth});
    p.suites.push_back({EspId::aes_cbc, 128, auth});
    p.suites.push_back({EspId::des3, 192, auth});
  }
  p.pfs_groups = {DhGroup::ecp384,   DhGroup::ecp256,   DhGroup::modp4096, DhGroup::modp3072,
                  DhGroup::modp2048, DhGroup::modp1536, DhGroup::modp1024};
  return p;
}

std::string Phase2Match::failure() const {
  return no_proposal_chosen(offered, configured);
}

Phase2Match match_phase2(const SecurityAssociation& sa, const Phase2Policy& policy) {
  Phase2Match m;
  m.configured = policy.describe();
  for (std::size_t i = 0; i < sa.proposals.size(); ++i) {
    const auto& p = sa.proposals[i];
    // RFC 2408 §4.2: proposals sharing a number are one offer of several
    // protocols together (AH+ESP, ESP+IPCOMP); the gateway does ESP alone.
    const bool combined =
        std::count_if(sa.proposals.begin(), sa.proposals.end(),
                      [&](const Proposal& q) { return q.number == p.number; }) > 1;
    for (const auto& t : p.transforms) {
      auto d = decode_phase2(p, t);
      if (combined && d.problem.empty()) {
        d.problem = "combined with another protocol";
      }
      consider(m, std::move(d), p, t, [&](const Phase2Transform& x) { return policy.refusal(x); });
    }
  }
  return m;
}

std::optional<std::pair<EspCipher, EspAuth>> to_dataplane(const Phase2Suite& s,
                                                          std::uint8_t sha256_icv_bits) {
  std::optional<EspCipher> c;
  if (s.cipher == EspId::des3) {
    c = EspCipher::des3_cbc;
  } else if (s.key_bits == 128) {
    c = EspCipher::aes_cbc_128;
  } else if (s.key_bits == 256) {
    c = EspCipher::aes_cbc_256;
  }
  std::optional<EspAuth> a;
  if (s.auth == EspAuthAlg::hmac_sha1) {
    a = EspAuth::hmac_sha1_96;
  } else if (s.auth == EspAuthAlg::hmac_sha256 && sha256_icv_bits == 128) {
    a = EspAuth::hmac_sha256_128;
  } else if (s.auth == EspAuthAlg::hmac_sha256 && sha256_icv_bits == 96) {
    a = EspAuth::hmac_sha256_96;
  }
  if (!c || !a) {
    return std::nullopt;
  }
  return std::make_pair(*c, *a);
}

}  // namespace l2tpgw::ike
